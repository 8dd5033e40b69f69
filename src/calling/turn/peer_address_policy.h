// PeerAddressPolicy: which peer addresses a client may relay to. Refused by default:
// loopback, unspecified, link-local, multicast/broadcast, CGNAT 100.64/10, IANA
// special-purpose and documentation ranges, NAT64/6to4 (which would smuggle IPv4 past the
// checks), as Wire's coturn `denied-peer-ip` list (CVE-2020-26262). RFC 1918/ULA stay allowed.
// The relay's own relayed addresses are always allowed, so that two clients of this server can
// reach each other relay-to-relay; its listener endpoints never are (no loops into itself).
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
                    std::vector<Endpoint> listener_endpoints);

  // For CreatePermission / ChannelBind (address only, RFC 8656 §9).
  bool address_allowed(const boost::asio::ip::address& address) const;
  // For every datagram sent to a peer.
  bool endpoint_allowed(const Endpoint& endpoint) const;

 private:
  bool allow_loopback_;
  std::vector<boost::asio::ip::address> relay_addresses_;
  std::vector<Endpoint> listener_endpoints_;
};

}  // namespace wirebox::turn
