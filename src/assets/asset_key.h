// Asset keys and retention classes as Wire spells them. A key is "3-<retention code>-<uuid>"
// (3 = the v3 key scheme, codes 1 eternal, 2 persistent, 3 volatile, 4 eternal-infrequent_access,
// 5 expiring). Keys are generated here, never chosen by clients, and only this exact shape is
// accepted back, so a key is always safe to use as a file name. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wirebox::assets {

enum class Retention { kEternal = 1, kPersistent = 2, kVolatile = 3, kEternalInfrequentAccess = 4, kExpiring = 5 };

std::optional<Retention> parse_retention(std::string_view name);  // "eternal", ... as in the metadata JSON
std::string_view retention_name(Retention r);

std::string new_asset_key(Retention r);
// "3-[1-5]-<lowercase uuid>"; anything else (other case, dots, slashes, extra text) is not a key.
bool is_asset_key(std::string_view key);
std::optional<Retention> key_retention(std::string_view key);  // nullopt unless is_asset_key

}  // namespace wirebox::assets
