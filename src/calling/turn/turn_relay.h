// TurnRelay: the embedded TURN server. Runs `options.loops` event loops (one thread each);
// every UDP listener is bound once per loop with SO_REUSEPORT so the kernel spreads clients
// over the loops by 4-tuple and each client's allocation stays on one loop without locks. TCP
// and TLS listeners accept on loop 0 and hand connections round-robin to the loops.
//
// start() binds everything or fails with the reason (and binds nothing); listeners with port 0
// get a free port, reported by bound_port(). stop() closes everything and joins the threads.
// TLS clients that came in on the HTTP server's port are adopted by adopt_https_stream() (see
// HttpsPortConnection); they count as one more listener, kHttpsPortListener.
//
// Thread safety: start/stop/bound_port from one controlling thread; counters() and
// adopt_https_stream() from any.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "calling/turn/https_stream.h"
#include "calling/turn/relay_counters.h"
#include "calling/turn/relay_options.h"
#include "core/api_error.h"

namespace wirebox::turn {

struct RelayTotals {
  uint64_t allocations_created = 0, allocations_active = 0, auth_failures = 0;
  uint64_t packets_to_peers = 0, bytes_to_peers = 0, packets_to_clients = 0, bytes_to_clients = 0;
  uint64_t dropped = 0;  // every drop reason together; by reason (see RelayCounters):
  uint64_t dropped_malformed = 0, dropped_no_allocation = 0, dropped_no_permission = 0, dropped_forbidden_peer = 0,
           dropped_send_failed = 0, dropped_truncated = 0, dropped_bandwidth = 0;
  uint64_t refused_connections = 0;
};

class TurnRelay {
 public:
  explicit TurnRelay(RelayOptions options);
  ~TurnRelay();
  TurnRelay(const TurnRelay&) = delete;
  TurnRelay& operator=(const TurnRelay&) = delete;

  Status start();
  void stop();
  uint16_t bound_port(size_t listener_index) const;  // in options.listeners order
  RelayTotals totals() const;

  // The listener id of clients adopted from the HTTPS port (allocations are keyed by it).
  static constexpr uint8_t kHttpsPortListener = 0xFF;
  // Serves a TURN client whose TLS connection the HTTP server accepted and handed over, on the
  // calling (HTTP) loop: the stream stays there, its messages go to a shard picked round-robin.
  // `already_read`: decrypted bytes the server read to tell TURN from HTTP; `connection_slot`:
  // the server's count of the connection, released when it closes. Between start() and stop();
  // a stream adopted after stop() is closed. The stream's loop must outlive the relay's threads.
  void adopt_https_stream(HttpsStream&& stream,
                          std::vector<uint8_t>&& already_read, std::shared_ptr<void> connection_slot);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wirebox::turn
