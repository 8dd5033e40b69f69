// Server: the one public HTTPS listener (Beast over asio::ssl) plus the optional plain-HTTP
// internal metrics listener.
//
// Threads: `loops` io_contexts, one thread each, own every socket; accepted connections are
// spread round-robin over them. Handlers of Exec::kBlocking routes run on a bounded worker
// pool (`workers` threads, at most `max_pending` queued requests → 503 beyond), so no loop
// ever waits for the disk. start() returns once listening; stop() closes the listeners and
// connections and joins all threads. Router must outlive the server.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "http/router.h"
#include "http/tls.h"

namespace boost::asio {
class io_context;
}

namespace wirebox::http {

// A second protocol served on the HTTPS port: TURN over TLS, so `turns:host:443` passes
// firewalls that let only HTTPS out. After the TLS handshake a connection is handed to `adopt`
// if it negotiated `alpn` (RFC 7443's "stun.turn"), or if `sniff` claims its first decrypted
// bytes; every other connection is served as HTTP exactly as before. With a shared protocol
// configured the server also answers ALPN, preferring "http/1.1" when the client offers it.
struct SharedPortProtocol {
  enum class Sniff { kMine, kNotMine, kNeedMore };
  static constexpr size_t kMaxSniffBytes = 64;  // kNeedMore with this many bytes means kNotMine

  std::string alpn;
  // Sees the decrypted bytes read so far (at least one, at most kMaxSniffBytes). Any thread.
  std::function<Sniff(std::span<const uint8_t>)> sniff;
  // Takes the connection on its I/O loop, with the decrypted bytes already read from it (the
  // stream has no deadline any more). Must not block. `connection_slot` is the connection's
  // place in ServerOptions::max_connections: keep it as long as the connection is open.
  std::function<void(TlsStream&& stream, std::vector<uint8_t>&& already_read, std::shared_ptr<void> connection_slot)>
      adopt;
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8443;  // 0 picks a free port (tests)
  CertPaths tls;
  int loops = 0;    // 0 = one per core
  int workers = 4;  // blocking pool size
  size_t max_pending = 1024;
  size_t max_body_bytes = 1 << 20;  // after decompression
  size_t max_header_bytes = 16 * 1024;
  size_t max_connections = 10000;
  int idle_timeout_seconds = 60;
  std::vector<std::string> cors_origins;  // exact origins allowed with credentials; "*" = any
  std::string metrics_address;            // empty = metrics listener off
  uint16_t metrics_port = 0;
  std::shared_ptr<const SharedPortProtocol> shared_port;  // null: HTTP only
};

class Server {
 public:
  Server(ServerOptions options, const Router& router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void start();  // throws std::runtime_error (with the reason) if it cannot listen
  void stop();
  uint16_t port() const;          // bound public port
  uint16_t metrics_port() const;  // bound metrics port, 0 if off

  // For other local listeners that share the daemon's threads (the admin socket), between
  // start() and stop(): the first I/O loop, and the blocking worker pool. stop() joins the pool
  // (queued work still runs) before it stops the loops.
  boost::asio::io_context& first_loop();
  void post_blocking(std::function<void()> work);

  struct Impl;  // defined in server.cpp; public so the sessions there can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wirebox::http
