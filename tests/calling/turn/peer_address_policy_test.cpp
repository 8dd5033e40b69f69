#include <catch2/catch.hpp>

#include "calling/turn/peer_address_policy.h"

using namespace wirebox::turn;
using boost::asio::ip::make_address;

TEST_CASE("special-purpose peers are refused by default", "[turn][policy]") {
  PeerAddressPolicy policy(false, {make_address("203.0.113.10")}, {Endpoint(make_address("198.51.100.1"), 3478)});
  for (const char* denied : {"127.0.0.1", "127.8.9.10", "0.0.0.0", "169.254.1.1", "100.64.0.1", "100.127.255.255",
                             "224.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1", "::1", "::", "fe80::1",
                             "ff02::1", "64:ff9b::7f00:1", "2002:7f00:1::", "2001:db8::1", "::ffff:127.0.0.1"})
    CHECK_FALSE(policy.address_allowed(make_address(denied)));
  for (const char* allowed : {"10.1.2.3", "172.16.0.1", "192.168.1.1", "8.8.8.8", "100.128.0.1", "2a00:1450::1",
                              "fd00::1", "::ffff:8.8.8.8"})
    CHECK(policy.address_allowed(make_address(allowed)));
}

TEST_CASE("the relay's own addresses are peers, its listeners are not", "[turn][policy]") {
  PeerAddressPolicy policy(false, {make_address("203.0.113.10")}, {Endpoint(make_address("203.0.113.10"), 3478)});
  CHECK(policy.address_allowed(make_address("203.0.113.10")));  // relay-to-relay calls
  CHECK(policy.endpoint_allowed(Endpoint(make_address("203.0.113.10"), 50000)));
  CHECK_FALSE(policy.endpoint_allowed(Endpoint(make_address("203.0.113.10"), 3478)));
  CHECK_FALSE(policy.endpoint_allowed(Endpoint(make_address("203.0.113.10"), 22)));  // not a relay port
}

TEST_CASE("allow_loopback lifts only the loopback ban", "[turn][policy]") {
  PeerAddressPolicy policy(true, {}, {Endpoint(make_address("127.0.0.1"), 3478)});
  CHECK(policy.address_allowed(make_address("127.0.0.1")));
  CHECK(policy.address_allowed(make_address("::1")));
  CHECK_FALSE(policy.address_allowed(make_address("169.254.1.1")));
  CHECK_FALSE(policy.endpoint_allowed(Endpoint(make_address("127.0.0.1"), 3478)));
  CHECK(policy.endpoint_allowed(Endpoint(make_address("127.0.0.1"), 3480)));
}

TEST_CASE("the host's public addresses are open on relay ports only, its other addresses not at all",
          "[turn][policy]") {
  // A relay on a public address (in no denied range), announced behind a 1:1 NAT as another
  // one, with a wildcard TURN listener, a TLS listener on the relay address, and a LAN and a
  // container bridge address on other interfaces.
  PeerAddressPolicy policy(false, {make_address("198.100.1.10"), make_address("198.100.2.20")},
                           {Endpoint(make_address("0.0.0.0"), 3478), Endpoint(make_address("198.100.1.10"), 5349)},
                           49152, 65535, {make_address("10.0.0.5"), make_address("172.17.0.1"), make_address("198.100.1.10")});
  for (const char* own : {"198.100.1.10", "198.100.2.20", "::ffff:198.100.1.10"}) {
    INFO(own);
    CHECK(policy.address_allowed(make_address(own)));
    CHECK(policy.endpoint_allowed(Endpoint(make_address(own), 50000)));  // relay to relay
    for (uint16_t port : {22, 53, 123, 443, 5432}) CHECK_FALSE(policy.endpoint_allowed(Endpoint(make_address(own), port)));
    CHECK_FALSE(policy.endpoint_allowed(Endpoint(make_address(own), 3478)));  // the wildcard listener
    CHECK_FALSE(policy.endpoint_allowed(Endpoint(make_address(own), 5349)));
  }
  for (const char* other : {"10.0.0.5", "172.17.0.1", "::ffff:10.0.0.5"}) {
    INFO(other);
    CHECK_FALSE(policy.address_allowed(make_address(other)));
    CHECK_FALSE(policy.endpoint_allowed(Endpoint(make_address(other), 50000)));
    CHECK_FALSE(policy.endpoint_allowed(Endpoint(make_address(other), 5432)));
  }
  // Other hosts, private ones included, stay reachable, but not on a wildcard listener's port.
  CHECK(policy.endpoint_allowed(Endpoint(make_address("10.0.0.6"), 5432)));
  CHECK(policy.endpoint_allowed(Endpoint(make_address("8.8.8.8"), 50000)));
  CHECK_FALSE(policy.endpoint_allowed(Endpoint(make_address("8.8.8.8"), 3478)));
  CHECK(policy.endpoint_allowed(Endpoint(make_address("8.8.8.8"), 5349)));
}
