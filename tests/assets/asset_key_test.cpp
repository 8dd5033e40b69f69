#include <catch2/catch.hpp>

#include "assets/asset_key.h"

using namespace wirebox::assets;

TEST_CASE("asset keys carry the retention code and only the exact shape is accepted") {
  std::string key = new_asset_key(Retention::kVolatile);
  CHECK(key.substr(0, 4) == "3-3-");
  CHECK(is_asset_key(key));
  CHECK(key_retention(key) == Retention::kVolatile);
  CHECK(new_asset_key(Retention::kEternal) != new_asset_key(Retention::kEternal));

  CHECK_FALSE(is_asset_key(""));
  CHECK_FALSE(is_asset_key("3-6-" + key.substr(4)));      // no such retention
  CHECK_FALSE(is_asset_key("2-3-" + key.substr(4)));      // other key scheme
  CHECK_FALSE(is_asset_key(key + "x"));
  CHECK_FALSE(is_asset_key("3-3-../../../etc/passwd"));
  CHECK_FALSE(is_asset_key("3-3-..%2F..%2Fwirebox.db-0000-0000-000000000000"));
  std::string upper = key;
  upper[4] = upper[4] >= 'a' ? static_cast<char>(upper[4] - 32) : upper[4];
  if (upper != key) CHECK_FALSE(is_asset_key(upper));
}

TEST_CASE("retention names are Wire's") {
  CHECK(parse_retention("eternal") == Retention::kEternal);
  CHECK(parse_retention("persistent") == Retention::kPersistent);
  CHECK(parse_retention("volatile") == Retention::kVolatile);
  CHECK(parse_retention("eternal-infrequent_access") == Retention::kEternalInfrequentAccess);
  CHECK(parse_retention("expiring") == Retention::kExpiring);
  CHECK_FALSE(parse_retention("forever").has_value());
  CHECK_FALSE(parse_retention("Eternal").has_value());
  CHECK(retention_name(Retention::kExpiring) == "expiring");
}
