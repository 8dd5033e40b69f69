// RelayOptions: everything the TURN relay is configured with. Plain data, copied into the
// relay at construction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wirebox::turn {

enum class ClientTransport { kUdp, kTcp, kTls };

struct ListenerSpec {
  ClientTransport transport = ClientTransport::kUdp;
  std::string address = "127.0.0.1";
  uint16_t port = 3478;  // 0 picks a free port (tests); bound_port() tells which
};

struct RelayOptions {
  std::string realm = "wirebox.localhost";
  // Shared secrets by key index (the k= of Wire usernames); an empty one is retired (refused).
  std::vector<std::string> secrets;
  std::vector<ListenerSpec> listeners;
  std::string tls_cert_file;  // PEM chain and key for kTls listeners
  std::string tls_key_file;
  std::string relay_address_v4 = "127.0.0.1";  // where relay sockets are bound
  std::string relay_address_v6;                // empty: no IPv6 relayed addresses
  // Address put in XOR-RELAYED-ADDRESS when the host sits behind a 1:1 NAT; empty: the bound one.
  std::string public_address_v4;
  uint16_t relay_port_min = 49152;
  uint16_t relay_port_max = 65535;
  bool allow_loopback_peers = false;
  int loops = 1;  // event loops (threads); UDP listeners are SO_REUSEPORT-sharded over them
  uint32_t max_allocations = 10000;
  uint32_t max_allocations_per_user = 16;  // per r= of the Wire username
  uint32_t default_lifetime_seconds = 600;
  uint32_t max_lifetime_seconds = 3600;
  int64_t nonce_lifetime_seconds = 600;
  // Bandwidth caps on relayed payload bytes, each direction (client to peer, peer to client)
  // separately; 0 = unlimited. The total is split evenly over the loops (see TurnShard).
  uint64_t max_allocation_bytes_per_second = 1'250'000;  // 10 Mbit/s
  uint64_t max_total_bytes_per_second = 125'000'000;     // 1000 Mbit/s
  // Receive buffer asked for on each UDP listener socket (the kernel caps it at
  // net.core.rmem_max): it holds what arrives while a loop is not scheduled.
  int udp_receive_buffer_bytes = 4 << 20;
  // A TCP or TLS client connection must hold an allocation: checked this often from its start
  // (so also bounding a stalled TLS handshake), it is closed at a check that finds none (never
  // allocated, expired, or refreshed to 0). 0 = never checked.
  uint32_t stream_allocation_grace_ms = 30'000;
  // TCP and TLS client connections open at once on TURN's own listeners (those on the HTTPS
  // port count against its http.max_connections); beyond, new ones are closed at once.
  uint32_t max_stream_connections = 10000;
  // Under load the loops poll their UDP sockets on a timer of this period instead of waking per
  // datagram (see SocketPoller); 0 = always wake per readiness.
  uint32_t poll_interval_us = 200;
  // The relay's clock in milliseconds; nullptr = monotonic_ms(). Tests pass a controlled one.
  int64_t (*clock_ms)() = nullptr;
};

}  // namespace wirebox::turn
