// Typed, bounded reads of request JSON fields. Absent or null optional fields give nullopt; a
// present field of the wrong type or out of range gives a 400 naming the field, so handlers
// reject bad input before writing anything.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/api_error.h"

namespace wirebox::json_fields {

Result<std::optional<std::string>> opt_string(const nlohmann::json& obj, const char* key, size_t min_len = 0,
                                              size_t max_len = 4096);
Result<std::string> req_string(const nlohmann::json& obj, const char* key, size_t min_len = 1, size_t max_len = 4096);
Result<std::optional<int64_t>> opt_int(const nlohmann::json& obj, const char* key, int64_t min, int64_t max);
Result<std::optional<bool>> opt_bool(const nlohmann::json& obj, const char* key);

}  // namespace wirebox::json_fields
