#include "calling/turn/peer_address_policy.h"

#include <algorithm>
#include <array>

namespace wirebox::turn {

namespace {

struct Range4 {
  uint32_t prefix;
  int bits;
};
struct Range6 {
  std::array<uint8_t, 16> prefix;
  int bits;
};

constexpr Range4 kDenied4[] = {
    {0x00000000, 8},   // "this network"
    {0x64400000, 10},  // 100.64/10 CGNAT
    {0xA9FE0000, 16},  // 169.254/16 link-local
    {0xC0000000, 24},  // 192.0.0/24 IETF protocol assignments
    {0xC0000200, 24},  // 192.0.2/24 TEST-NET-1
    {0xC0586300, 24},  // 192.88.99/24 6to4 relay anycast
    {0xC6120000, 15},  // 198.18/15 benchmarking
    {0xC6336400, 24},  // 198.51.100/24 TEST-NET-2
    {0xCB007100, 24},  // 203.0.113/24 TEST-NET-3
    {0xE0000000, 4},   // multicast
    {0xF0000000, 4},   // reserved and broadcast
};

constexpr Range6 kDenied6[] = {
    {{}, 128},                                                              // ::
    {{0x00, 0x64, 0xff, 0x9b}, 96},                                         // 64:ff9b::/96 NAT64
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48},                             // 64:ff9b:1::/48 local NAT64
    {{0x01, 0x00}, 64},                                                     // 100::/64 discard
    {{0x20, 0x01, 0x00, 0x00}, 23},                                         // 2001::/23 IETF assignments
    {{0x20, 0x01, 0x0d, 0xb8}, 32},                                         // 2001:db8::/32 documentation
    {{0x20, 0x02}, 16},                                                     // 2002::/16 6to4
    {{0xfe, 0x80}, 10},                                                     // link-local
    {{0xff, 0x00}, 8},                                                      // multicast
};

bool in4(uint32_t a, const Range4& r) { return r.bits == 0 || (a >> (32 - r.bits)) == (r.prefix >> (32 - r.bits)); }

bool in6(const std::array<uint8_t, 16>& a, const Range6& r) {
  int full = r.bits / 8;
  for (int i = 0; i < full; ++i)
    if (a[i] != r.prefix[i]) return false;
  int rest = r.bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (r.prefix[full] & mask);
}

}  // namespace

PeerAddressPolicy::PeerAddressPolicy(bool allow_loopback, std::vector<boost::asio::ip::address> relay_addresses,
                                     std::vector<Endpoint> listener_endpoints, uint16_t relay_port_min,
                                     uint16_t relay_port_max, std::vector<boost::asio::ip::address> other_host_addresses)
    : allow_loopback_(allow_loopback),
      relay_addresses_(std::move(relay_addresses)),
      listener_endpoints_(std::move(listener_endpoints)),
      other_host_addresses_(std::move(other_host_addresses)),
      relay_port_min_(relay_port_min),
      relay_port_max_(relay_port_max) {}

bool PeerAddressPolicy::is_relay_address(const boost::asio::ip::address& address) const {
  return std::find(relay_addresses_.begin(), relay_addresses_.end(), address) != relay_addresses_.end();
}

bool PeerAddressPolicy::is_other_host_address(const boost::asio::ip::address& address) const {
  return !is_relay_address(address) &&
         std::find(other_host_addresses_.begin(), other_host_addresses_.end(), address) != other_host_addresses_.end();
}

namespace {

boost::asio::ip::address unmapped(const boost::asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  return address;
}

}  // namespace

bool PeerAddressPolicy::address_allowed(const boost::asio::ip::address& peer) const {
  auto address = unmapped(peer);
  if (is_relay_address(address)) return true;
  return !is_other_host_address(address) && range_allowed(address);
}

bool PeerAddressPolicy::range_allowed(const boost::asio::ip::address& address) const {
  if (address.is_loopback()) return allow_loopback_;
  if (address.is_v6()) {
    auto bytes = address.to_v6().to_bytes();  // IPv4-mapped ones come unmapped (unmapped())
    return std::none_of(std::begin(kDenied6), std::end(kDenied6), [&](const Range6& r) { return in6(bytes, r); });
  }
  uint32_t a = address.to_v4().to_uint();
  if ((a >> 24) == 127) return allow_loopback_;
  return std::none_of(std::begin(kDenied4), std::end(kDenied4), [&](const Range4& r) { return in4(a, r); });
}

bool PeerAddressPolicy::endpoint_allowed(const Endpoint& endpoint) const {
  auto address = unmapped(endpoint.address());
  const uint16_t port = endpoint.port();
  // A listener's port is closed on its own address, on every address when it listens on the
  // wildcard, and on the relay's addresses (the host's own, e.g. the public one a 1:1 NAT
  // sends back in), so that no client can nest TURN inside TURN through this server.
  for (const auto& listener : listener_endpoints_) {
    if (listener.port() != port) continue;
    if (listener.address() == address || listener.address().is_unspecified() || is_relay_address(address)) return false;
  }
  // The host's own addresses are open on relay ports only: a public relay address is in no
  // denied range, so the range check alone would open every other service on the host. A
  // loopback relay address (tests on one host) is open wherever allow_loopback says.
  if (is_relay_address(address))
    return (port >= relay_port_min_ && port <= relay_port_max_) || (address.is_loopback() && allow_loopback_);
  return !is_other_host_address(address) && range_allowed(address);
}

}  // namespace wirebox::turn
