// RelayCounters: what the relay exports as metrics (allocations, packets and bytes relayed
// each way, drops by reason). One instance per event loop, so hot-path increments never
// contend across cores; the metrics endpoint sums them.
//
// Thread safety: relaxed atomics, written by the owning loop, read from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace wirebox::turn {

struct RelayCounters {
  using C = std::atomic<uint64_t>;
  C allocations_created{0};
  C allocations_active{0};
  C auth_failures{0};
  C packets_to_peers{0};
  C bytes_to_peers{0};
  C packets_to_clients{0};
  C bytes_to_clients{0};
  C dropped_malformed{0};     // not STUN, not ChannelData, or failed to parse
  C dropped_no_allocation{0}; // data from a client without an allocation
  C dropped_no_permission{0}; // peer without permission/channel, either direction
  C dropped_forbidden_peer{0};
  C dropped_send_failed{0};   // socket buffer full or send error
  C dropped_truncated{0};     // datagram larger than the receive buffer
  C dropped_bandwidth{0};     // over the allocation's or the relay's bandwidth cap
  C refused_connections{0};   // TCP/TLS connections closed at accept: over max_stream_connections

  static void add(C& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
};

}  // namespace wirebox::turn
