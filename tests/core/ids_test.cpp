#include <cstdio>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "core/ids.h"

using namespace wirebox;

TEST_CASE("new_uuid_v4 is a lowercase RFC 4122 version 4 UUID", "[ids]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string u = new_uuid_v4();
    REQUIRE(u.size() == 36);
    REQUIRE(is_uuid(u));
    CHECK(u[14] == '4');  // version nibble
    CHECK(std::string("89ab").find(u[19]) != std::string::npos);  // variant 10xx
    for (char c : u) CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-'));
    CHECK(normalize_uuid(u) == u);
    seen.insert(u);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("is_uuid accepts 8-4-4-4-12 hex in any case and nothing else", "[ids]") {
  CHECK(is_uuid("00000000-0000-0000-0000-000000000000"));
  CHECK(is_uuid("3F2504E0-4F89-41D3-9A0C-0305E82C3301"));
  CHECK(is_uuid("3f2504e0-4f89-41d3-9a0c-0305e82c3301"));
  CHECK_FALSE(is_uuid(""));
  CHECK_FALSE(is_uuid("3f2504e0-4f89-41d3-9a0c-0305e82c330"));    // 35 chars
  CHECK_FALSE(is_uuid("3f2504e0-4f89-41d3-9a0c-0305e82c33011"));  // 37 chars
  CHECK_FALSE(is_uuid("3f2504e04f8941d39a0c0305e82c3301"));       // no dashes
  CHECK_FALSE(is_uuid("3f2504e0-4f8941d3-9a0c-0305e82c3301-"));   // dashes misplaced
  CHECK_FALSE(is_uuid("3f2504e0_4f89_41d3_9a0c_0305e82c3301"));
  CHECK_FALSE(is_uuid("3f2504g0-4f89-41d3-9a0c-0305e82c3301"));   // 'g'
  CHECK_FALSE(is_uuid("{f2504e0-4f89-41d3-9a0c-0305e82c330}"));
  CHECK_FALSE(is_uuid(std::string_view("3f2504e0-4f89-41d3-9a0c-0305e82c330\0", 36)));
}

TEST_CASE("normalize_uuid lowercases valid UUIDs and rejects invalid ones", "[ids]") {
  CHECK(normalize_uuid("3F2504E0-4F89-41D3-9A0C-0305E82C3301") == std::string("3f2504e0-4f89-41d3-9a0c-0305e82c3301"));
  CHECK(normalize_uuid("3f2504e0-4f89-41d3-9a0c-0305e82c3301") == std::string("3f2504e0-4f89-41d3-9a0c-0305e82c3301"));
  CHECK_FALSE(normalize_uuid("not-a-uuid").has_value());
  CHECK_FALSE(normalize_uuid(" 3f2504e0-4f89-41d3-9a0c-0305e82c330").has_value());
}

TEST_CASE("new_client_id is canonical hex of a non-zero uint64", "[ids]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_client_id();
    REQUIRE(is_client_id(id));
    REQUIRE(!id.empty());
    REQUIRE(id.size() <= 16);
    CHECK(id[0] != '0');
    // Round-trips through a uint64 like the client's protobuf does.
    char buf[17];
    std::snprintf(buf, sizeof buf, "%llx", std::stoull(id, nullptr, 16));
    CHECK(id == buf);
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("is_client_id accepts the canonical form only", "[ids]") {
  CHECK(is_client_id("1"));
  CHECK(is_client_id("f"));
  CHECK(is_client_id("deadbeef"));
  CHECK(is_client_id("ffffffffffffffff"));  // UINT64_MAX
  CHECK(is_client_id("1000000000000000"));
  CHECK_FALSE(is_client_id(""));
  CHECK_FALSE(is_client_id("0"));                  // zero is not a client id
  CHECK_FALSE(is_client_id("0f"));                 // leading zero
  CHECK_FALSE(is_client_id("DEADBEEF"));           // uppercase
  CHECK_FALSE(is_client_id("10000000000000000"));  // 17 digits > uint64
  CHECK_FALSE(is_client_id("xyz"));
  CHECK_FALSE(is_client_id("12 3"));
  CHECK_FALSE(is_client_id("-1"));
}
