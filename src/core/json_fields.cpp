#include "core/json_fields.h"

namespace wirebox::json_fields {

nlohmann::json parse_untrusted(std::string_view text) {
  // Depth by brackets outside strings; malformed text is left to the parser.
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return nlohmann::json(nlohmann::json::value_t::discarded);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return nlohmann::json::parse(text, nullptr, false);
}

static size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xc0) != 0x80) ++n;
  return n;
}

Result<std::optional<std::string>> opt_string(const nlohmann::json& obj, const char* key, size_t min_len,
                                              size_t max_len) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string()) return ApiError::bad_request(std::string(key) + " must be a string");
  std::string v = it->get<std::string>();
  size_t len = utf8_length(v);
  if (len < min_len || len > max_len)
    return ApiError::bad_request(std::string(key) + " must have " + std::to_string(min_len) + " to " +
                                 std::to_string(max_len) + " characters");
  return std::optional<std::string>(std::move(v));
}

Result<std::string> req_string(const nlohmann::json& obj, const char* key, size_t min_len, size_t max_len) {
  auto v = opt_string(obj, key, min_len, max_len);
  if (!v) return v.error();
  if (!v.value()) return ApiError::bad_request(std::string(key) + " is required");
  return std::move(*v.value());
}

Result<std::optional<int64_t>> opt_int(const nlohmann::json& obj, const char* key, int64_t min, int64_t max) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<int64_t>{};
  if (!it->is_number_integer()) return ApiError::bad_request(std::string(key) + " must be an integer");
  int64_t v = it->get<int64_t>();
  if (v < min || v > max)
    return ApiError::bad_request(std::string(key) + " must be between " + std::to_string(min) + " and " +
                                 std::to_string(max));
  return std::optional<int64_t>(v);
}

Result<std::optional<bool>> opt_bool(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<bool>{};
  if (!it->is_boolean()) return ApiError::bad_request(std::string(key) + " must be a boolean");
  return std::optional<bool>(it->get<bool>());
}

}  // namespace wirebox::json_fields
