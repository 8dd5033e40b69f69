#include "calling/turn/turn_relay.h"

#include <algorithm>
#include <cstring>

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "calling/turn/https_port_connection.h"
#include "calling/turn/stream_connection.h"
#include "calling/turn/turn_shard.h"
#include "core/accept_pause.h"
#include "core/encoding.h"
#include "http/tls.h"

namespace wirebox::turn {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

struct TurnRelay::Impl {
  explicit Impl(RelayOptions o) : options(std::move(o)) {}

  struct Loop {
    asio::io_context io{1};
    RelayCounters counters;
    std::unique_ptr<TurnShard> shard;
    std::thread thread;
  };
  struct Acceptor {
    std::unique_ptr<tcp::acceptor> acceptor;
    ClientTransport transport;
    uint8_t id;
    std::unique_ptr<asio::steady_timer> pause_timer;  // on the acceptor's loop
    AcceptPause pause;
  };

  RelayOptions options;
  std::unique_ptr<RelayShared> shared;
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<Acceptor> acceptors;
  std::unique_ptr<asio::ssl::context> tls;
  std::vector<uint16_t> ports;
  size_t next_loop = 0;
  std::atomic<size_t> next_adopted{0};  // round-robin over the loops for HTTPS-port clients
  std::atomic<bool> running{false};

  void accept(Acceptor& a);
};

TurnRelay::TurnRelay(RelayOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

TurnRelay::~TurnRelay() { stop(); }

namespace {

// The addresses of the host's network interfaces (getifaddrs), for the peer policy: relaying to
// them would reach services on this host. Loopback is left out: the policy's own loopback rule
// (refused unless turn.allow_loopback_peers, for tests) decides it. Empty if the kernel will
// not say.
std::vector<asio::ip::address> host_interface_addresses() {
  std::vector<asio::ip::address> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      out.push_back(asio::ip::address_v4(ntohl(sin->sin_addr.s_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), sin6->sin6_addr.s6_addr, bytes.size());
      out.push_back(asio::ip::address_v6(bytes));
    }
  }
  ::freeifaddrs(list);
  out.erase(std::remove_if(out.begin(), out.end(), [](const asio::ip::address& a) { return a.is_loopback(); }), out.end());
  return out;
}

Status bind_error(const ListenerSpec& spec, const boost::system::error_code& ec) {
  return ApiError::internal("TURN cannot listen on " + spec.address + ":" + std::to_string(spec.port) + ": " +
                            ec.message());
}

}  // namespace

Status TurnRelay::start() {
  Impl& d = *impl_;
  const RelayOptions& o = d.options;
  if (o.secrets.empty()) return ApiError::internal("TURN needs a secret");
  int loop_count = std::max(1, o.loops);

  std::vector<asio::ip::address> relay_addresses;
  boost::system::error_code ec;
  for (const auto& a : {o.relay_address_v4, o.relay_address_v6, o.public_address_v4}) {
    if (a.empty()) continue;
    relay_addresses.push_back(asio::ip::make_address(a, ec));
    if (ec) return ApiError::internal("TURN relay address '" + a + "' is not an IP address");
    // Announced to clients and allowed as a peer on relay ports: a wildcard would be neither
    // reachable nor safe (0.0.0.0 as a peer is this host's loopback).
    if (relay_addresses.back().is_unspecified())
      return ApiError::internal("TURN relay address '" + a + "' must be one of the host's addresses, not a wildcard");
  }
  for (int i = 0; i < loop_count; ++i) d.loops.push_back(std::make_unique<Impl::Loop>());

  // Bind every listener first, so the policy knows the endpoints it must never relay to.
  std::vector<Endpoint> listener_endpoints;
  std::vector<std::vector<udp::socket>> udp_sockets(o.listeners.size());
  for (size_t i = 0; i < o.listeners.size(); ++i) {
    const ListenerSpec& spec = o.listeners[i];
    auto address = asio::ip::make_address(spec.address, ec);
    if (ec) return ApiError::internal("TURN listen address '" + spec.address + "' is not an IP address");
    uint16_t port = spec.port;
    if (spec.transport == ClientTransport::kUdp) {
      for (auto& loop : d.loops) {
        udp::socket s(loop->io);
        s.open(address.is_v4() ? udp::v4() : udp::v6(), ec);
        if (!ec) {
          int one = 1;
          ::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
          // Clients' datagrams all arrive here: a burst while the loop is descheduled must fit.
          int size = o.udp_receive_buffer_bytes;
          if (size > 0) ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
          s.bind(udp::endpoint(address, port), ec);
        }
        if (!ec) s.non_blocking(true, ec);
        if (ec) return bind_error(spec, ec);
        port = s.local_endpoint().port();  // port 0: the later loops join the port the first got
        udp_sockets[i].push_back(std::move(s));
      }
    } else {
      auto acceptor = std::make_unique<tcp::acceptor>(d.loops[0]->io);
      acceptor->open(address.is_v4() ? tcp::v4() : tcp::v6(), ec);
      if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor->bind(tcp::endpoint(address, port), ec);
      if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) return bind_error(spec, ec);
      port = acceptor->local_endpoint().port();
      auto timer = std::make_unique<asio::steady_timer>(d.loops[0]->io);
      d.acceptors.push_back({std::move(acceptor), spec.transport, static_cast<uint8_t>(i), std::move(timer), {}});
    }
    d.ports.push_back(port);
    listener_endpoints.emplace_back(address, port);
  }
  bool needs_tls = std::any_of(o.listeners.begin(), o.listeners.end(),
                               [](const ListenerSpec& l) { return l.transport == ClientTransport::kTls; });
  if (needs_tls) {
    d.tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    try {
      http::configure_server_context(*d.tls, {o.tls_cert_file, o.tls_key_file});
      // RFC 7443: a client that asks for "stun.turn" gets it; without ALPN, as before.
      static const std::string kTurnAlpn = "\x09stun.turn";
      http::select_alpn_from(*d.tls, kTurnAlpn);
    } catch (const std::exception& e) {
      return ApiError::internal(std::string("TURN TLS: ") + e.what());
    }
  }

  d.shared = std::make_unique<RelayShared>(o, PeerAddressPolicy(o.allow_loopback_peers, relay_addresses, listener_endpoints,
                                                                 o.relay_port_min, o.relay_port_max,
                                                                 host_interface_addresses()),
                                           NonceIssuer(random_bytes(32), o.nonce_lifetime_seconds * 1000));
  for (size_t l = 0; l < d.loops.size(); ++l) {
    auto& loop = *d.loops[l];
    loop.shard = std::make_unique<TurnShard>(*d.shared, loop.counters, loop.io);
    for (size_t i = 0; i < udp_sockets.size(); ++i)
      if (!udp_sockets[i].empty() && !loop.shard->add_udp_listener(std::move(udp_sockets[i][l]), static_cast<uint8_t>(i)))
        return ApiError::internal(std::string("TURN: cannot watch a UDP listener: ") + std::strerror(errno));
    loop.shard->start();
  }
  for (auto& a : d.acceptors) d.accept(a);
  for (auto& loop : d.loops) {
    loop->thread = std::thread([&io = loop->io] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  d.running = true;
  return {};
}

void TurnRelay::Impl::accept(Acceptor& a) {
  Loop& target = *loops[next_loop++ % loops.size()];
  a.acceptor->async_accept(target.io, [this, &a, &target](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !a.acceptor->is_open()) return;
    if (!ec) {
      boost::system::error_code ep_ec;
      auto remote = socket.remote_endpoint(ep_ec);
      auto& open = shared->stream_connections;
      if (!ep_ec && open.fetch_add(1) >= shared->options.max_stream_connections) {
        open.fetch_sub(1);
        target.counters.refused_connections.fetch_add(1, std::memory_order_relaxed);
        boost::system::error_code ignored;
        socket.close(ignored);  // over the cap: closed at once
      } else if (!ep_ec) {
        std::shared_ptr<void> slot(nullptr, [&open](void*) { open.fetch_sub(1); });
        ClientAddress address{a.id, Endpoint(remote.address(), remote.port())};
        TurnShard& shard = *target.shard;
        // The connection must start on its own loop's thread.
        if (a.transport == ClientTransport::kTcp) {
          auto c = std::make_shared<TcpConnection>(std::move(socket), shard, address, a.transport, std::move(slot));
          asio::post(target.io, [c] { c->start(); });
        } else {
          auto c = std::make_shared<TlsConnection>(asio::ssl::stream<tcp::socket>(std::move(socket), *tls), shard,
                                                   address, a.transport, std::move(slot));
          asio::post(target.io, [c] { c->start(); });
        }
      }
    }
    if (ec && a.pause.wait_if_needed(ec, "turn", *a.pause_timer, [this, &a] {
          if (a.acceptor->is_open()) accept(a);
        }))
      return;
    accept(a);
  });
}

void TurnRelay::adopt_https_stream(HttpsStream&& stream,
                                   std::vector<uint8_t>&& already_read, std::shared_ptr<void> connection_slot) {
  Impl& d = *impl_;
  if (!d.running.load()) return;
  boost::system::error_code ec;
  auto remote = boost::beast::get_lowest_layer(stream).socket().remote_endpoint(ec);
  if (ec) return;
  Impl::Loop& target = *d.loops[d.next_adopted.fetch_add(1, std::memory_order_relaxed) % d.loops.size()];
  ClientAddress address{kHttpsPortListener, Endpoint(remote.address(), remote.port())};
  auto c = std::make_shared<HttpsPortConnection>(std::move(stream), *target.shard, address, std::move(connection_slot));
  c->start(std::move(already_read));
}

void TurnRelay::stop() {
  Impl& d = *impl_;
  if (!d.running) return;
  d.running = false;
  for (auto& loop : d.loops) loop->io.stop();
  for (auto& loop : d.loops)
    if (loop->thread.joinable()) loop->thread.join();
  // The loops no longer run: closing from this thread cannot race a handler.
  for (auto& a : d.acceptors) a.acceptor->close();
  for (auto& loop : d.loops) loop->shard->stop();
}

uint16_t TurnRelay::bound_port(size_t listener_index) const {
  return listener_index < impl_->ports.size() ? impl_->ports[listener_index] : 0;
}

RelayTotals TurnRelay::totals() const {
  RelayTotals t;
  auto v = [](const RelayCounters::C& c) { return c.load(std::memory_order_relaxed); };
  for (const auto& loop : impl_->loops) {
    const RelayCounters& c = loop->counters;
    t.allocations_created += v(c.allocations_created);
    t.allocations_active += v(c.allocations_active);
    t.auth_failures += v(c.auth_failures);
    t.packets_to_peers += v(c.packets_to_peers);
    t.bytes_to_peers += v(c.bytes_to_peers);
    t.packets_to_clients += v(c.packets_to_clients);
    t.bytes_to_clients += v(c.bytes_to_clients);
    t.dropped_malformed += v(c.dropped_malformed);
    t.dropped_no_allocation += v(c.dropped_no_allocation);
    t.dropped_no_permission += v(c.dropped_no_permission);
    t.dropped_forbidden_peer += v(c.dropped_forbidden_peer);
    t.dropped_send_failed += v(c.dropped_send_failed);
    t.dropped_truncated += v(c.dropped_truncated);
    t.dropped_bandwidth += v(c.dropped_bandwidth);
    t.refused_connections += v(c.refused_connections);
  }
  t.dropped = t.dropped_malformed + t.dropped_no_allocation + t.dropped_no_permission + t.dropped_forbidden_peer +
              t.dropped_send_failed + t.dropped_truncated + t.dropped_bandwidth;
  return t;
}

}  // namespace wirebox::turn
