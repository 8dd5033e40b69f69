#include "assets/asset_key.h"

#include "core/ids.h"

namespace wirebox::assets {
namespace {

struct RetentionName {
  Retention retention;
  std::string_view name;
};

constexpr RetentionName kNames[] = {{Retention::kEternal, "eternal"},
                                    {Retention::kPersistent, "persistent"},
                                    {Retention::kVolatile, "volatile"},
                                    {Retention::kEternalInfrequentAccess, "eternal-infrequent_access"},
                                    {Retention::kExpiring, "expiring"}};

}  // namespace

std::optional<Retention> parse_retention(std::string_view name) {
  for (const auto& n : kNames)
    if (n.name == name) return n.retention;
  return std::nullopt;
}

std::string_view retention_name(Retention r) {
  for (const auto& n : kNames)
    if (n.retention == r) return n.name;
  return "persistent";
}

std::string new_asset_key(Retention r) {
  return "3-" + std::to_string(static_cast<int>(r)) + "-" + new_uuid_v4();
}

bool is_asset_key(std::string_view key) {
  if (key.size() != 4 + 36 || key[0] != '3' || key[1] != '-' || key[2] < '1' || key[2] > '5' || key[3] != '-')
    return false;
  std::string_view id = key.substr(4);
  for (char c : id)
    if (c >= 'A' && c <= 'F') return false;  // we only issue lowercase
  return is_uuid(id);
}

std::optional<Retention> key_retention(std::string_view key) {
  if (!is_asset_key(key)) return std::nullopt;
  return static_cast<Retention>(key[2] - '0');
}

}  // namespace wirebox::assets
