// Router: maps (method, path pattern) to a handler. Patterns are literal segments and
// "{name}" captures ("/users/{domain}/{uid}/clients"). Each route declares whether it needs an
// access token (Access::kUser → 401 without a valid one) and whether it may block on disk
// (Exec::kBlocking runs on the bounded worker pool, never on an I/O loop).
//
// Routes are registered at start-up, before the server runs; afterwards the router is
// read-only and safe to use from every thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "http/body_sink.h"
#include "http/request.h"

namespace wirebox::http {

enum class Access { kPublic, kUser };
enum class Exec { kInline, kBlocking };

using Handler = std::function<Response(Request&)>;
// Verifies a bearer access token; fills the identity or returns the error to answer.
using TokenVerifier = std::function<Result<Identity>(std::string_view token)>;

struct Route {
  Verb method = Verb::get;
  std::vector<std::string> segments;
  Access access = Access::kUser;
  Exec exec = Exec::kBlocking;
  Handler handler;
  // Upload routes only (add_upload): the body is streamed into the opened sink, never held in
  // memory, up to max_body_bytes; `handler` is unused.
  UploadOpener open_upload;
  uint64_t max_body_bytes = 0;
};

// A connection's TCP stream, bound to its I/O loop's own executor type rather than the
// type-erased any_io_executor of beast::tcp_stream: every asynchronous operation dispatched
// through the type-erased one paid for a virtual call and a typeid comparison (callgrind).
using LoopSocket = boost::asio::ip::tcp::socket::rebind_executor<boost::asio::io_context::executor_type>::other;
using LoopStream = boost::beast::basic_stream<boost::asio::ip::tcp, boost::asio::io_context::executor_type,
                                              boost::beast::unlimited_rate_policy>;
// Protocol upgrades (WebSocket): the server hands the connection over instead of answering.
using TlsStream = boost::beast::ssl_stream<LoopStream>;
using UpgradeMessage = boost::beast::http::request<boost::beast::http::string_body>;
// Runs on the connection's I/O loop with the authenticated request (identity set for
// Access::kUser), the original message (for the handshake answer) and the TLS stream, which
// now belongs to the handler. `connection_slot` is the connection's place in
// ServerOptions::max_connections: keep it as long as the connection is open. Must not block.
using UpgradeHandler = std::function<void(Request& req, UpgradeMessage&& message, TlsStream&& stream,
                                          std::shared_ptr<void> connection_slot)>;

struct UpgradeRoute {
  std::vector<std::string> segments;
  Access access;
  UpgradeHandler handler;
};

class Router {
 public:
  void add(Verb method, const std::string& pattern, Access access, Handler handler,
           Exec exec = Exec::kBlocking);
  // A route whose request body is streamed into a BodySink (see body_sink.h) instead of being
  // read into Request::body; `max_body_bytes` caps the body on the wire (the sink may refuse
  // earlier, e.g. per user).
  void add_upload(Verb method, const std::string& pattern, Access access, UploadOpener open,
                  uint64_t max_body_bytes);
  bool has_uploads() const { return has_uploads_; }
  uint64_t max_upload_body_bytes() const { return max_upload_body_bytes_; }
  void set_token_verifier(TokenVerifier verifier) { verifier_ = std::move(verifier); }
  // GET requests with an `Upgrade` header on this path (unversioned, like /await) go to the
  // handler; authentication (Access::kUser) runs on the worker pool first, and a failure is
  // answered as plain HTTP.
  void add_upgrade(const std::string& pattern, Access access, UpgradeHandler handler);
  const UpgradeRoute* match_upgrade(Request& req) const;

  struct Match {
    const Route* route = nullptr;
    bool path_known = false;  // some route has this path with another method (→ 405)
  };
  // Finds the route and fills req.params. Does not authenticate.
  Match match(Request& req) const;

  // Authenticates (for kUser routes) and runs the handler; converts escaped exceptions into a
  // 500 so one bad request never takes the daemon down.
  Response invoke(const Route& route, Request& req) const;
  // Authenticates req for `access` (fills req.identity); the error response otherwise. Blocking.
  std::optional<Response> authenticate(Access access, Request& req) const;

 private:
  std::vector<Route> routes_;
  std::vector<UpgradeRoute> upgrades_;
  TokenVerifier verifier_;
  bool has_uploads_ = false;
  uint64_t max_upload_body_bytes_ = 0;
};

// Strips an "/vN" prefix into req.api_version and splits off the query string.
void split_target(std::string_view target, Request& req);

}  // namespace wirebox::http
