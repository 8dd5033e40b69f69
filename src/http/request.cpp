#include "http/request.h"

#include "core/json_fields.h"

namespace wirebox::http {

std::string_view Request::header(std::string_view name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return {};
  return it->value();
}

std::optional<std::string> Request::query_param(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Result<nlohmann::json> Request::json_object() const {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return nlohmann::json::object();
  auto j = json_fields::parse_untrusted(body);
  if (j.is_discarded()) return ApiError::bad_request("Malformed JSON body (or nested too deeply)");
  if (!j.is_object()) return ApiError::bad_request("JSON body must be an object");
  return j;
}

Response json_response(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  // Strings that are not UTF-8 (a data directory or a setting in another encoding) are replaced,
  // never thrown on: a throw here would end a request, or an admin command, without an answer.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.content_type = "application/json";
  return r;
}

Response error_response(const ApiError& error) { return json_response(error.code, error.to_json()); }

Response empty_response(int status) {
  Response r;
  r.status = status;
  return r;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) out[url_decode(part)] = "";
    else out[url_decode(part.substr(0, eq))] = url_decode(part.substr(eq + 1));
  }
  return out;
}

}  // namespace wirebox::http
