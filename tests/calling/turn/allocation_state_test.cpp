#include <catch2/catch.hpp>

#include "calling/turn/allocation_state.h"

using namespace wirebox::turn;
using boost::asio::ip::make_address;

TEST_CASE("permissions expire after 300 s and refresh on reinstall", "[turn][allocation]") {
  AllocationState a(1'000'000);
  auto peer = make_address("192.0.2.7");
  CHECK_FALSE(a.has_permission(peer, 0));
  REQUIRE(a.install_permission(peer, 0));
  CHECK(a.has_permission(peer, 299'999));
  CHECK_FALSE(a.has_permission(peer, 300'000));
  REQUIRE(a.install_permission(peer, 200'000));
  CHECK(a.has_permission(peer, 499'999));
  CHECK_FALSE(a.has_permission(make_address("192.0.2.8"), 1));
  a.expire(500'000);
  CHECK(a.permission_count() == 0);
}

TEST_CASE("permission table is bounded", "[turn][allocation]") {
  AllocationState a(1'000'000);
  for (size_t i = 0; i < kMaxPermissions; ++i)
    REQUIRE(a.install_permission(boost::asio::ip::address_v4(static_cast<uint32_t>(0x0A000000 + i)), 0));
  CHECK_FALSE(a.install_permission(make_address("10.1.0.0"), 0));
  CHECK(a.install_permission(make_address("10.1.0.0"), kPermissionLifetimeMs));  // the old ones expired
}

TEST_CASE("channel binding rules", "[turn][allocation]") {
  AllocationState a(1'000'000);
  Endpoint p1(make_address("192.0.2.1"), 5000);
  Endpoint p2(make_address("192.0.2.2"), 5000);
  CHECK(a.bind_channel(0x3FFF, p1, 0) == ChannelBindResult::kBadNumber);
  CHECK(a.bind_channel(0x8000, p1, 0) == ChannelBindResult::kBadNumber);
  REQUIRE(a.bind_channel(0x4000, p1, 0) == ChannelBindResult::kOk);
  CHECK(a.has_permission(p1.address(), 0));  // binding installs the permission
  CHECK(a.bind_channel(0x4000, p2, 0) == ChannelBindResult::kNumberInUse);
  CHECK(a.bind_channel(0x4001, p1, 0) == ChannelBindResult::kPeerInUse);
  CHECK(a.bind_channel(0x4000, p1, 100'000) == ChannelBindResult::kOk);  // refresh
  REQUIRE(a.channel_peer(0x4000, 100'000));
  CHECK(*a.channel_peer(0x4000, 100'000) == p1);
  CHECK(a.channel_for_peer(p1, 100'000) == 0x4000);
  CHECK(a.channel_peer(0x4001, 0) == nullptr);
  // Refreshed at 100 s: alive until 700 s; its permission (also refreshed) until 400 s.
  CHECK(a.channel_peer(0x4000, 699'999) != nullptr);
  CHECK(a.channel_peer(0x4000, 700'000) == nullptr);
  CHECK_FALSE(a.has_permission(p1.address(), 400'000));
  CHECK(a.bind_channel(0x4000, p2, 700'000) == ChannelBindResult::kOk);  // expired: free again
}

TEST_CASE("allocation lifetime", "[turn][allocation]") {
  AllocationState a(600'000);
  CHECK_FALSE(a.expired(599'999));
  CHECK(a.expired(600'000));
  a.set_expires_ms(0);
  CHECK(a.expired(0));
}
