// TurnShard: one event loop's share of the TURN relay. It owns the allocations made by the
// clients this loop serves (UDP clients are pinned to a loop by SO_REUSEPORT's 4-tuple hash,
// stream clients by the connection), their relay sockets, and a once-a-second sweep that
// expires allocations, permissions and channels. It answers STUN requests (Binding, Allocate,
// Refresh, CreatePermission, ChannelBind) with long-term credentials derived from the Wire
// username, and moves Send/Data indications and ChannelData between clients and peers.
//
// Data path: the shard's UDP sockets (listeners, relay sockets) sit in a SocketPoller, which
// wakes the loop once for all ready sockets (and, under load, on a timer tick instead of per
// datagram; see socket_poller.h). Datagrams are drained with recvmmsg(); those from peers are
// collected over a whole wake-up and go to UDP clients with sendmmsg(), those to peers with one
// sendto() each (their relay sockets differ per allocation). ChannelData headers are written in
// place, so no packet is copied or allocated for except Data indications (the slow path, used
// before a channel is bound).
//
// Bandwidth caps: every relayed packet's payload is charged, per direction, to a token bucket
// of its allocation and to one of the shard; a packet either bucket cannot pay for is dropped
// and counted (dropped_bandwidth). The relay-wide cap is split evenly over the shards, each
// holding total / loops, so the data path shares no atomic between cores: clients spread over
// the loops (SO_REUSEPORT hash, round-robin for streams), and a single allocation is held far
// below a shard's share by its own cap. Buckets allow one second's worth of burst, at least
// kMinBurstBytes so the largest relayable message always fits.
//
// Ownership: owned by TurnRelay; RelayShared must outlive it. Links passed to
// on_client_message must stay valid until on_link_closed (streams) or for the call (UDP).
// Thread safety: every method runs on the shard's io_context thread, except construction and
// the destructor (after the loop stopped).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "calling/turn/allocation_quota.h"
#include "calling/turn/allocation_state.h"
#include "calling/turn/client_link.h"
#include "calling/turn/datagram_batch.h"
#include "calling/turn/nonce_issuer.h"
#include "calling/turn/peer_address_policy.h"
#include "calling/turn/relay_counters.h"
#include "calling/turn/relay_options.h"
#include "calling/turn/socket_poller.h"
#include "calling/turn/stun_integrity.h"
#include "calling/turn/stun_message.h"
#include "calling/turn/token_bucket.h"

namespace wirebox::turn {

// State all shards share: immutable except the quota, which locks itself. Counters are per shard.
struct RelayShared {
  RelayShared(RelayOptions o, PeerAddressPolicy p, NonceIssuer n)
      : options(std::move(o)),
        policy(std::move(p)),
        nonces(std::move(n)),
        quota(options.max_allocations, options.max_allocations_per_user) {}

  RelayOptions options;
  PeerAddressPolicy policy;
  NonceIssuer nonces;
  AllocationQuota quota;
  std::atomic<uint32_t> stream_connections{0};  // open on TURN's own TCP/TLS listeners
};

// A client as the relay sees it: which listener, from where. The allocation key (the 5-tuple).
struct ClientAddress {
  uint8_t listener = 0;
  Endpoint endpoint;
  bool operator==(const ClientAddress&) const = default;
};

class TurnShard {
 public:
  static constexpr uint64_t kMinBurstBytes = 65536;

  TurnShard(RelayShared& shared, RelayCounters& counters, boost::asio::io_context& io);
  ~TurnShard();
  TurnShard(const TurnShard&) = delete;
  TurnShard& operator=(const TurnShard&) = delete;

  boost::asio::io_context& io() { return io_; }

  // Takes over a bound, non-blocking UDP listener socket of this loop (released from Asio's
  // reactor: the poller watches it). False if it cannot be watched.
  bool add_udp_listener(boost::asio::ip::udp::socket socket, uint8_t listener_id);
  // Starts the sweep timer and reading the sockets.
  void start();
  // Closes listeners, relay sockets and the timer (on the loop thread, before it stops).
  void stop();

  // One STUN or ChannelData message from a stream client (framing already done).
  void on_client_message(std::span<uint8_t> message, const ClientAddress& from, ClientLink& link);
  // A stream client disconnected: its allocation goes too.
  void on_link_closed(const ClientAddress& from);
  // Whether this client holds an allocation (stream connections without one are closed).
  bool has_allocation(const ClientAddress& from) const { return allocations_.count(from) != 0; }
  const RelayOptions& options() const { return shared_.options; }

 private:
  struct Allocation;
  struct ClientAddressHash {
    size_t operator()(const ClientAddress& a) const;
  };
  struct UdpListener {
    UdpListener(int f, uint8_t i) : fd(f), id(i) {}
    ~UdpListener();
    UdpListener(const UdpListener&) = delete;
    UdpListener& operator=(const UdpListener&) = delete;
    int fd;
    uint8_t id;
  };
  // Poller tags: a listener's is its index shifted left with this bit set; an allocation's is
  // its address (aligned, so the bit is clear).
  static constexpr uint64_t kListenerTag = 1;

  // One wake-up of the poller: drains every ready socket, sends what was collected for clients.
  void on_sockets_ready();
  // Each returns how many datagrams it received.
  size_t drain_listener(UdpListener& listener);
  size_t drain_relay(Allocation& allocation, int64_t now);
  // Sends the ChannelData collected for UDP clients; their payloads (in from_peers_) are then free.
  void flush_to_clients();
  void sweep();
  void release(std::unordered_map<ClientAddress, std::shared_ptr<Allocation>, ClientAddressHash>::iterator it);

  // Request handling (turn_shard_requests.cpp).
  void on_stun(std::span<const uint8_t> bytes, const ClientAddress& from, ClientLink& link);
  void on_channel_data(std::span<const uint8_t> bytes, const ClientAddress& from);
  void on_send_indication(const StunMessage& message, const ClientAddress& from);
  void on_data_from_peer(Allocation& allocation, std::span<uint8_t> payload, const Endpoint& peer, int64_t now);

  struct Auth;  // outcome of checking a request's credentials
  bool authenticate(const StunMessage& request, const ClientAddress& from, ClientLink& link, Auth& auth);
  void handle_allocate(const StunMessage& request, const ClientAddress& from, ClientLink& link, const Auth& auth);
  void handle_refresh(const StunMessage& request, const ClientAddress& from, ClientLink& link, const Auth& auth);
  void handle_create_permission(const StunMessage& request, const ClientAddress& from, ClientLink& link,
                                const Auth& auth);
  void handle_channel_bind(const StunMessage& request, const ClientAddress& from, ClientLink& link, const Auth& auth);
  void send_binding_response(const StunMessage& request, const ClientAddress& from, ClientLink& link);
  void send_error(const StunMessage& request, ClientLink& link, int code, const Auth* auth);
  void send_unauthorized(const StunMessage& request, ClientLink& link, int code);
  bool open_relay_socket(Allocation& allocation, bool ipv6, bool even_port);
  // The caller's allocation, or nullptr after answering 437 / 441.
  Allocation* find_for_request(const StunMessage& request, const ClientAddress& from, ClientLink& link,
                               const Auth& auth);
  void send_to_peer(Allocation& allocation, std::span<const uint8_t> data, const Endpoint& peer, int64_t now);
  // Charges a packet to its allocation's and the shard's bucket; false (counted) if either is short.
  bool within_caps(TokenBucket& allocation, TokenBucket& shard, size_t payload_bytes, int64_t now);
  TokenBucket cap(uint64_t bytes_per_second, int64_t now) const;
  int64_t now_ms() const { return clock_(); }

  RelayShared& shared_;
  RelayCounters& counters_;
  boost::asio::io_context& io_;
  int64_t (*clock_)();
  TokenBucket to_peers_cap_;    // the shard's share of the relay-wide caps
  TokenBucket to_clients_cap_;
  boost::asio::steady_timer sweep_timer_;
  std::vector<std::unique_ptr<UdpListener>> listeners_;
  std::unordered_map<ClientAddress, std::shared_ptr<Allocation>, ClientAddressHash> allocations_;
  SocketPoller poller_;
  DatagramBatch batch_;           // from listeners: handled as received
  DatagramBatch from_peers_;      // from relay sockets: kept until flush_to_clients()
  DatagramSendBatch to_clients_;  // ChannelData for UDP clients, pointing into from_peers_
  // Released allocations, kept alive until the wake-up that released them ends: the poller's
  // list of ready sockets may still name them.
  std::vector<std::shared_ptr<Allocation>> retired_;
  std::vector<uint8_t> scratch_;  // response / Data indication buffer
  uint64_t indication_sequence_ = 0;
  uint32_t next_port_ = 0;        // where the relay port search starts next
  bool stopped_ = false;
};

int64_t monotonic_ms();

}  // namespace wirebox::turn
