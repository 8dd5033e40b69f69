// Identifiers as Wire spells them: user/team/conversation ids are lowercase UUID strings;
// client ids are canonical lowercase hex of a non-zero uint64 with no leading zeros (1..16
// chars) because the client round-trips them through a protobuf uint64. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wirebox {

std::string new_uuid_v4();
bool is_uuid(std::string_view s);                         // 8-4-4-4-12 hex, any case
std::optional<std::string> normalize_uuid(std::string_view s);  // lowercase, nullopt if invalid

std::string new_client_id();
bool is_client_id(std::string_view s);  // canonical form only

}  // namespace wirebox
