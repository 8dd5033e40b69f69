// PeerAddressPolicy: which peer addresses a client may relay to. Refused by default:
// loopback, unspecified, link-local, multicast/broadcast, CGNAT 100.64/10, IANA
// special-purpose and documentation ranges, NAT64/6to4 (which would smuggle IPv4 past the
// checks), as Wire's coturn `denied-peer-ip` list (CVE-2020-26262). RFC 1918/ULA stay allowed.
// The relay's own relayed addresses are allowed only on relay ports, so two clients of this
// server can reach each other relay-to-relay, but no other service on the host (ssh, the HTTPS
// API) is reachable through it; the host's other addresses (its other interfaces: a LAN, a
// container bridge) are refused; a listener's port never is, on any of the host's addresses
// and, for a wildcard listener, on any address at all (no TURN nested in TURN through it).
// `allow_loopback` lifts only the loopback ban, for tests on one host.
//
// Thread safety: immutable after construction; safe from every thread.
#pragma once

#include <vector>

#include <boost/asio/ip/address.hpp>

#include "calling/turn/stun_attributes.h"

namespace wirebox::turn {

class PeerAddressPolicy {
 public:
  PeerAddressPolicy(bool allow_loopback, std::vector<boost::asio::ip::address> relay_addresses,
                    std::vector<Endpoint> listener_endpoints, uint16_t relay_port_min = 49152,
                    uint16_t relay_port_max = 65535, std::vector<boost::asio::ip::address> other_host_addresses = {});

  // For CreatePermission (address only, RFC 8656 §9).
  bool address_allowed(const boost::asio::ip::address& address) const;
  // For ChannelBind and every Send indication: the port matters too.
  bool endpoint_allowed(const Endpoint& endpoint) const;

 private:
  bool is_relay_address(const boost::asio::ip::address& address) const;
  bool is_other_host_address(const boost::asio::ip::address& address) const;
  // The special-purpose ranges only; `address` already unmapped (no IPv4-mapped IPv6).
  bool range_allowed(const boost::asio::ip::address& address) const;

  bool allow_loopback_;
  std::vector<boost::asio::ip::address> relay_addresses_;
  std::vector<Endpoint> listener_endpoints_;
  std::vector<boost::asio::ip::address> other_host_addresses_;
  uint16_t relay_port_min_;
  uint16_t relay_port_max_;
};

}  // namespace wirebox::turn
