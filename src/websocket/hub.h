// Hub: the WebSocket notification push (`GET /await?access_token=&client=`, the official
// clients' "legacy" socket). The HTTP server authenticates the upgrade request and hands the
// TLS stream over; the socket then lives on the same I/O loop (no thread per socket).
//
// Registry: user → open sockets, each tagged with the client it was opened for (a user may
// have several). push() (the EventPublisher's sink) serialises the notification once as
// {"id","transient","payload"} and queues it on every socket of the user that may see it
// (delivery.clients empty: all; otherwise only the listed clients), in call order. A text
// "ping" is answered with "pong"; other text is ignored; a binary frame closes the socket with
// 1003, an oversized (> 64 KiB) or malformed frame with 1009 / 1002. The socket is closed with
// 1000 when its access token expires (the client reconnects with a fresh token, as on any
// server close). Backpressure:
// each socket queues at most max_queued_frames / max_queued_bytes; beyond that the consumer is
// too slow and is disconnected (it catches up from /notifications when it reconnects).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "http/router.h"
#include "notifications/event_publisher.h"

namespace wirebox::websocket {

struct HubOptions {
  size_t max_queued_frames = 1024;              // per socket
  size_t max_queued_bytes = size_t{16} << 20;   // per socket
  int idle_timeout_seconds = 60;  // nothing received for this long (we ping at half) → closed
  // Open sockets per user; one more closes the user's oldest (1008): a reconnecting client is
  // never locked out by its own stale sockets, and no account can hold unbounded sockets.
  size_t max_sockets_per_user = 32;
};

class Hub : public notifications::PushSink {
 public:
  explicit Hub(HubOptions options = {});
  ~Hub() override;
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // The upgrade handler (see register_routes): takes over the stream of an authenticated request
  // and keeps `connection_slot` (its place in the server's max_connections) while it is open.
  void accept(http::Request& req, http::UpgradeMessage&& message, http::TlsStream&& stream,
              std::shared_ptr<void> connection_slot = {});

  void push(const notifications::Delivery& delivery, const std::string& notification_id, bool transient) override;

  size_t open_sockets() const;
  // Closes every socket of the user (policy violation, 1008): for suspended and deleted accounts.
  void disconnect_user(const std::string& user_id);
  // Closes the user's sockets opened for this client (1008), after what is queued on them (the
  // client's own user.client-remove event): for a deleted or replaced client.
  void disconnect_client(const std::string& user_id, const std::string& client_id);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// GET /await (and /vN/await): Access::kUser via the router's token verifier.
void register_routes(http::Router& router, Hub& hub);

}  // namespace wirebox::websocket
