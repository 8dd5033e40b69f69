// Typed, bounded reads of request JSON fields. Absent or null optional fields give nullopt; a
// present field of the wrong type or out of range gives a 400 naming the field, so handlers
// reject bad input before writing anything.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/api_error.h"

namespace wirebox::json_fields {

// Deepest nesting of arrays and objects accepted from a client (Wire's payloads need a handful).
constexpr int kMaxDepth = 64;

// Parses JSON text from a client: a discarded value (is_discarded()) if it is malformed or
// nested deeper than kMaxDepth. Why the bound: nlohmann parses any depth, but dump() and copies
// recurse once per level, so ~100 KB of '[' overflowed the stack and killed the daemon.
nlohmann::json parse_untrusted(std::string_view text);

Result<std::optional<std::string>> opt_string(const nlohmann::json& obj, const char* key, size_t min_len = 0,
                                              size_t max_len = 4096);
Result<std::string> req_string(const nlohmann::json& obj, const char* key, size_t min_len = 1, size_t max_len = 4096);
Result<std::optional<int64_t>> opt_int(const nlohmann::json& obj, const char* key, int64_t min, int64_t max);
Result<std::optional<bool>> opt_bool(const nlohmann::json& obj, const char* key);

}  // namespace wirebox::json_fields
