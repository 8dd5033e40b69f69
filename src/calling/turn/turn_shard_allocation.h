// TurnShard::Allocation: one live allocation of a shard: protocol state, its relay socket, the
// way back to its client and the credentials it was created with (later requests must use the
// same username, RFC 8656 §6.2). Private to the shard's implementation files.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ip/udp.hpp>

#include "calling/turn/turn_shard.h"

namespace wirebox::turn {

struct TurnShard::Allocation {
  Allocation(const ClientAddress& from, int64_t expires_ms) : state(expires_ms), client(from) {}
  ~Allocation();
  Allocation(const Allocation&) = delete;
  Allocation& operator=(const Allocation&) = delete;

  AllocationState state;
  int relay_fd = -1;  // non-blocking UDP socket, watched by the shard's poller
  Endpoint relayed;  // as advertised to the client
  ClientAddress client;
  ClientLink* link = nullptr;
  std::unique_ptr<UdpClientLink> udp_link;  // the link, for UDP clients
  std::string username;
  std::string user;  // r= of the username: the quota key
  LongTermKey key{};
  TransactionId allocate_transaction{};
  TokenBucket to_peer_cap;  // bandwidth caps, one per direction
  TokenBucket to_client_cap;
  bool closed = false;
};

}  // namespace wirebox::turn
