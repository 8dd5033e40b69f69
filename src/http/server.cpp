#include "http/server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <span>
#include <stdexcept>
#include <thread>
#include <type_traits>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>

#include "core/accept_pause.h"
#include "core/log.h"
#include "http/file_body.h"
#include "http/gzip.h"
#include "http/metrics.h"
#include "http/response_bytes.h"

namespace wirebox::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

struct ServerMetrics {
  Counter& responses_2xx = Metrics::instance().counter("wirebox_http_responses_total{class=\"2xx\"}",
                                                        "HTTP responses sent by status class");
  Counter& responses_3xx = Metrics::instance().counter("wirebox_http_responses_total{class=\"3xx\"}", "");
  Counter& responses_4xx = Metrics::instance().counter("wirebox_http_responses_total{class=\"4xx\"}", "");
  Counter& responses_5xx = Metrics::instance().counter("wirebox_http_responses_total{class=\"5xx\"}", "");
  Counter& tls_handshake_failures =
      Metrics::instance().counter("wirebox_tls_handshake_failures_total", "Failed TLS handshakes");
  Counter& upgrades = Metrics::instance().counter("wirebox_http_upgrades_total",
                                                   "Connections handed to an upgrade handler (WebSocket)");
  Counter& rejected_connections =
      Metrics::instance().counter("wirebox_http_rejected_connections_total", "Connections refused over the limit");
  Counter& shared_port_handoffs = Metrics::instance().counter(
      "wirebox_http_shared_port_connections_total", "Connections on the HTTPS port handed to TURN over TLS");

  std::atomic<int64_t> open_connections{0};

  ServerMetrics() {
    Metrics::instance().gauge("wirebox_http_connections", "Open client connections",
                              [this] { return static_cast<double>(open_connections.load()); });
  }

  void count(int status) {
    if (status < 300) responses_2xx.inc();
    else if (status < 400) responses_3xx.inc();
    else if (status < 500) responses_4xx.inc();
    else responses_5xx.inc();
  }
};

ServerMetrics& server_metrics() {
  static ServerMetrics m;
  return m;
}

// Parser body type of upload routes: hands each piece of the body to the route's BodySink as
// it arrives instead of storing it.
struct SinkBody {
  struct value_type {
    BodySink* sink = nullptr;
    std::optional<ApiError> error;  // why the sink refused a piece
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      ec = {};
      std::size_t used = 0;
      for (auto b : beast::buffers_range_ref(buffers)) {
        Status st = body_.sink->write(static_cast<const char*>(b.data()), b.size());
        if (!st) {
          body_.error = st.error();
          ec = beast::errc::make_error_code(beast::errc::operation_canceled);
          return used;
        }
        used += b.size();
      }
      return used;
    }

    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace

struct Server::Impl {
  ServerOptions opt;
  const Router& router;
  ssl::context ssl_ctx{ssl::context::tls_server};
  std::vector<std::unique_ptr<net::io_context>> loops;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::unique_ptr<net::thread_pool> pool;
  std::optional<tcp::acceptor> acceptor;
  std::optional<tcp::acceptor> metrics_acceptor;
  // On loop 0, with the acceptors: waits out a shortage of descriptors before accepting again.
  std::optional<net::steady_timer> accept_timer, metrics_accept_timer;
  AcceptPause accept_pause, metrics_accept_pause;
  std::atomic<size_t> pending{0};
  // Shared with connections handed to the shared-port protocol, which may outlive the server.
  std::shared_ptr<std::atomic<size_t>> connections = std::make_shared<std::atomic<size_t>>(0);
  size_t next_loop = 0;  // only touched on loop 0 (the acceptor's)
  uint16_t port = 0;
  uint16_t metrics_port = 0;
  std::string alpn_wire;  // ALPN protocol list in wire format, when the port is shared
  bool running = false;

  Impl(ServerOptions o, const Router& r) : opt(std::move(o)), router(r) {}

  bool origin_allowed(std::string_view origin) const {
    if (origin.empty()) return false;
    for (const auto& o : opt.cors_origins)
      if (o == "*" || o == origin) return true;
    return false;
  }

  void accept();
  void accept_metrics();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl& srv, LoopSocket socket)
      : srv_(srv), stream_(std::move(socket), srv.ssl_ctx), watchdog_(stream_.get_executor()) {
    boost::system::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
    srv_.connections->fetch_add(1);
    server_metrics().open_connections.fetch_add(1);
  }
  ~Session() {
    srv_.connections->fetch_sub(1);
    server_metrics().open_connections.fetch_sub(1);
  }

  void run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->handshake(); });
  }

 private:
  void handshake() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(10));
    stream_.async_handshake(ssl::stream_base::server, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        server_metrics().tls_handshake_failures.inc();
        return;
      }
      if (self->srv_.opt.shared_port) return self->detect_protocol();
      self->read();
    });
  }

  // HTTP or the protocol sharing the port: its ALPN name decides, else the first bytes. HTTP
  // keeps what was read here in buffer_, where the request parser starts from.
  void detect_protocol() {
    const SharedPortProtocol& p = *srv_.opt.shared_port;
    const unsigned char* alpn = nullptr;
    unsigned int alpn_size = 0;
    SSL_get0_alpn_selected(stream_.native_handle(), &alpn, &alpn_size);
    if (alpn_size > 0 && std::string_view(reinterpret_cast<const char*>(alpn), alpn_size) == p.alpn)
      return hand_to_shared_port();
    sniff();
  }

  void sniff() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(srv_.opt.idle_timeout_seconds));
    stream_.async_read_some(buffer_.prepare(kSniffReadBytes), [self = shared_from_this()](beast::error_code ec,
                                                                                          std::size_t n) {
      if (ec == net::error::eof || ec == ssl::error::stream_truncated) return self->shutdown();
      if (ec) return;
      self->buffer_.commit(n);
      const SharedPortProtocol& p = *self->srv_.opt.shared_port;
      auto data = self->buffer_.cdata();
      std::span<const uint8_t> seen(static_cast<const uint8_t*>(data.data()),
                                    std::min(data.size(), SharedPortProtocol::kMaxSniffBytes));
      auto verdict = p.sniff(seen);
      if (verdict == SharedPortProtocol::Sniff::kNeedMore && seen.size() < SharedPortProtocol::kMaxSniffBytes)
        return self->sniff();
      if (verdict == SharedPortProtocol::Sniff::kMine) return self->hand_to_shared_port();
      self->read();
    });
  }

  void hand_to_shared_port() {
    server_metrics().shared_port_handoffs.inc();
    beast::get_lowest_layer(stream_).expires_never();
    auto data = buffer_.cdata();
    const auto* bytes = static_cast<const uint8_t*>(data.data());
    std::vector<uint8_t> already_read(bytes, bytes + data.size());
    buffer_.consume(buffer_.size());
    try {
      srv_.opt.shared_port->adopt(std::move(stream_), std::move(already_read), connection_slot());
    } catch (const std::exception& e) {
      log::error("http", std::string("shared port handler failed: ") + e.what());
    }
  }

  static constexpr size_t kSniffReadBytes = 2048;

  void read() {
    parser_.emplace();
    head_request_ = false;
    // Beast refuses a Content-Length over the limit while parsing the headers, before we know
    // the route: start with the larger upload limit and narrow it in on_header.
    parser_->body_limit(std::max<uint64_t>(srv_.opt.max_body_bytes, srv_.router.max_upload_body_bytes()));
    parser_->header_limit(static_cast<std::uint32_t>(srv_.opt.max_header_bytes));
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(srv_.opt.idle_timeout_seconds));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  // The headers are in: upload routes stream their body into a sink; every other request
  // reads its (bounded) body into memory.
  void on_header(beast::error_code ec) {
    if (ec || parser_->is_done()) return on_read(ec);
    auto& msg = parser_->get();
    if (srv_.router.has_uploads() && msg[bhttp::field::upgrade].empty()) {
      // The route needs only the method and path; the headers are copied for an upload alone.
      Request req;
      req.method = msg.method();
      split_target(msg.target(), req);
      auto m = srv_.router.match(req);
      if (m.route && m.route->open_upload) {
        req.remote_address = remote_;
        req.headers = static_cast<const bhttp::fields&>(msg);
        return open_upload(*m.route, std::move(req));
      }
    }
    // The wire limit is the decompressed limit too: gzip never makes JSON larger.
    parser_->body_limit(srv_.opt.max_body_bytes);
    if (auto len = parser_->content_length(); len && *len > srv_.opt.max_body_bytes) return on_read(bhttp::error::body_limit);
    if (expects_continue(msg)) return send_continue([self = shared_from_this()] { self->read_body(); });
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  static bool expects_continue(const bhttp::request<bhttp::string_body>& msg) {
    return beast::iequals(msg[bhttp::field::expect], "100-continue");
  }

  // "Expect: 100-continue" (curl sends it for bodies over 1 MiB): say so before reading the body
  // rather than making the client wait for its own timeout.
  template <class Next>
  void send_continue(Next next) {
    auto res = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res, next](beast::error_code ec, std::size_t) {
      if (ec) return;
      next();
    });
  }

  // Takes the message's header fields (moved, not copied: read them from the Request after
  // this; an upgrade puts them back for its handshake).
  Request request_from(bhttp::request<bhttp::string_body>& msg) const {
    Request req;
    req.method = msg.method();
    req.remote_address = remote_;
    split_target(msg.target(), req);  // first: the target is kept in the fields
    req.headers = std::move(static_cast<bhttp::fields&>(msg));
    return req;
  }

  // Upload route: authenticate and open the sink on the pool, then stream the body into it on
  // this loop, then let the sink commit on the pool. Any refusal is answered and the rest of
  // the body drained, never stored.
  void open_upload(const Route& route, Request req) {
    auto& msg = parser_->get();
    bool keep_alive = msg.keep_alive();
    std::string origin(msg[bhttp::field::origin]);
    std::string_view encoding = msg[bhttp::field::content_encoding];
    if (!encoding.empty() && encoding != "identity") {
      drain_after_write_ = true;
      return write(error_response({415, "client-error", "Unsupported Content-Encoding"}), false, origin);
    }
    if (auto len = parser_->content_length(); len && *len > route.max_body_bytes) {
      drain_after_write_ = true;
      return write(error_response({413, "client-error", "Request body too large"}), false, origin);
    }
    if (srv_.pending.fetch_add(1) >= srv_.opt.max_pending) {
      srv_.pending.fetch_sub(1);
      drain_after_write_ = true;
      return write(error_response({503, "server-busy", "Too many requests in progress"}), false, origin);
    }
    net::post(*srv_.pool, [self = shared_from_this(), &route, req = std::move(req), keep_alive,
                           origin = std::move(origin)]() mutable {
      std::optional<Response> refusal;
      std::unique_ptr<BodySink> sink;
      try {
        refusal = self->srv_.router.authenticate(route.access, req);
        if (!refusal) {
          auto opened = route.open_upload(req);
          if (opened) sink = std::move(opened.value());
          else refusal = error_response(opened.error());
        }
      } catch (const std::exception& e) {
        log::error("http", std::string("upload open failed: ") + e.what());
        refusal = error_response(ApiError::internal());
      }
      self->srv_.pending.fetch_sub(1);
      net::post(self->stream_.get_executor(), [self, &route, refusal = std::move(refusal), sink = std::move(sink),
                                               keep_alive, origin = std::move(origin)]() mutable {
        if (refusal) {
          self->drain_after_write_ = true;
          return self->write(std::move(*refusal), false, origin);
        }
        self->stream_upload(route, std::move(sink), keep_alive, std::move(origin));
      });
    });
  }

  void stream_upload(const Route& route, std::unique_ptr<BodySink> sink, bool keep_alive, std::string origin) {
    watch_stream(std::chrono::seconds(srv_.opt.idle_timeout_seconds));
    bool wants_continue = expects_continue(parser_->get());
    upload_parser_.emplace(std::move(*parser_));
    parser_.reset();
    upload_parser_->body_limit(route.max_body_bytes);
    upload_parser_->get().body().sink = sink.get();
    // Beast reads only as much as the buffer's spare capacity (a few KiB after the headers):
    // without room for whole TLS records an upload costs one syscall pair per KiB.
    buffer_.reserve(kUploadReadBytes);
    sink_ = std::move(sink);
    upload_keep_alive_ = keep_alive;
    upload_origin_ = std::move(origin);
    if (wants_continue) return send_continue([self = shared_from_this()] { self->read_upload(); });
    read_upload();
  }

  // Piece by piece; the watchdog cuts the connection off if no piece arrives for the idle
  // timeout (not for the whole, possibly long, upload).
  void read_upload() {
    bhttp::async_read_some(stream_, buffer_, *upload_parser_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_upload_read(ec); });
  }

  void on_upload_read(beast::error_code ec) {
    stream_progress_ = std::chrono::steady_clock::now();
    auto& body = upload_parser_->get().body();
    if (body.error) {
      ApiError e = *body.error;
      return fail_upload(error_response(e));
    }
    if (ec == bhttp::error::body_limit) return fail_upload(error_response({413, "client-error", "Request body too large"}));
    if (ec) {
      // The client went away or sent a broken message: nothing to answer; the sink's
      // destructor removes what it wrote.
      unwatch_stream();
      sink_.reset();
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
          ec != bhttp::error::partial_message)
        return fail_upload(error_response(ApiError::bad_request("Malformed HTTP request")));
      return;
    }
    if (!upload_parser_->is_done()) {
      // The callback keeps the session alive while it reads nothing; the sink drops it if the
      // upload ends first.
      bool room = sink_->wait_for_room([self = shared_from_this()] {
        net::post(self->stream_.get_executor(), [self] { self->resume_upload(); });
      });
      if (room) return read_upload();
      stream_paused_ = true;  // waiting for the disk is not the client's idleness
      return;
    }
    unwatch_stream();
    if (srv_.pending.fetch_add(1) >= srv_.opt.max_pending) {
      srv_.pending.fetch_sub(1);
      return fail_upload(error_response({503, "server-busy", "Too many requests in progress"}));
    }
    net::post(*srv_.pool, [self = shared_from_this()]() mutable {
      Response resp;
      try {
        resp = self->sink_->finish();
      } catch (const std::exception& e) {
        log::error("http", std::string("upload commit failed: ") + e.what());
        resp = error_response(ApiError::internal());
      }
      self->sink_.reset();  // on the pool: discarding an unfinished upload may touch the disk
      self->srv_.pending.fetch_sub(1);
      net::post(self->stream_.get_executor(), [self, resp = std::move(resp)]() mutable {
        self->upload_parser_.reset();
        self->buffer_.shrink_to_fit();
        self->write(std::move(resp), self->upload_keep_alive_, self->upload_origin_);
      });
    });
  }

  // The sink made room after wait_for_room() said no; nothing to do if the upload failed (and
  // was answered) meanwhile.
  void resume_upload() {
    stream_paused_ = false;
    stream_progress_ = std::chrono::steady_clock::now();
    if (sink_ && upload_parser_) read_upload();
  }

  static constexpr size_t kUploadReadBytes = 256 * 1024;

  // Streams of many pieces (an upload's body, a file download) are watched by one timer of
  // their own instead of the stream's timeout: Beast arms and cancels that timer for every
  // read or write, a timerfd syscall and timer-queue work per 16 KiB TLS record (A/B: 1 MiB
  // uploads -7 % CPU without it). The watchdog wakes once per `timeout` and closes the
  // connection if no piece moved for that long, unless the server itself paused the stream.
  void watch_stream(std::chrono::seconds timeout) {
    beast::get_lowest_layer(stream_).expires_never();
    stream_timeout_ = timeout;
    stream_paused_ = false;
    stream_progress_ = std::chrono::steady_clock::now();
    arm_watchdog(timeout);
  }

  void arm_watchdog(std::chrono::steady_clock::duration after) {
    watchdog_.expires_after(after);
    // Weak: an abandoned session is not kept alive by its watchdog.
    watchdog_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->stream_timeout_.count()) return;
      auto idle = std::chrono::steady_clock::now() - self->stream_progress_;
      if (self->stream_paused_) return self->arm_watchdog(self->stream_timeout_);
      if (idle < self->stream_timeout_) return self->arm_watchdog(self->stream_timeout_ - idle);
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().close(ignored);  // pending I/O fails, the session ends
    });
  }

  void unwatch_stream() {
    stream_timeout_ = std::chrono::seconds(0);
    watchdog_.cancel();
  }

  void fail_upload(Response resp) {
    unwatch_stream();
    sink_.reset();
    upload_parser_.reset();
    buffer_.shrink_to_fit();
    drain_after_write_ = true;
    write(std::move(resp), false, upload_origin_);
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream) return shutdown();
    if (ec == bhttp::error::body_limit) {
      // The headers are parsed by now: answer with CORS headers so a browser client can read
      // the 413 instead of seeing an opaque network error.
      std::string origin(parser_->get()[bhttp::field::origin]);
      drain_after_write_ = true;
      return write(error_response({413, "client-error", "Request body too large"}), false, origin);
    }
    if (ec == bhttp::error::header_limit) {
      return write(error_response({431, "client-error", "Request headers too large"}), false, "");
    }
    if (ec) {
      // Parse errors get an answer; transport errors (timeout, reset) just close.
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category())
        return write(error_response(ApiError::bad_request("Malformed HTTP request")), false, "");
      return;
    }
    auto& msg = parser_->get();
    bool keep_alive = msg.keep_alive();
    std::string origin(msg[bhttp::field::origin]);
    head_request_ = msg.method() == bhttp::verb::head;

    Request req = request_from(msg);

    if (req.method == Verb::options) return write(preflight(req), keep_alive, origin);

    if (!req.headers[bhttp::field::upgrade].empty())
      if (const UpgradeRoute* u = srv_.router.match_upgrade(req)) return upgrade(*u, std::move(req), std::move(origin));

    std::string_view encoding = req.headers[bhttp::field::content_encoding];
    if (encoding == "gzip") {
      GunzipResult r = gunzip(msg.body(), srv_.opt.max_body_bytes, req.body);
      if (r == GunzipResult::kTooLarge)
        return write(error_response({413, "client-error", "Request body too large"}), false, origin);
      if (r == GunzipResult::kCorrupt)
        return write(error_response(ApiError::bad_request("Corrupt gzip body")), keep_alive, origin);
    } else if (!encoding.empty() && encoding != "identity") {
      return write(error_response({415, "client-error", "Unsupported Content-Encoding"}), keep_alive, origin);
    } else {
      req.body = std::move(msg.body());
    }

    auto m = srv_.router.match(req);
    if (!m.route) {
      ApiError e = m.path_known ? ApiError{405, "method-not-allowed", "Method not allowed"}
                                : ApiError{404, "no-endpoint", "The requested endpoint does not exist"};
      return write(error_response(e), keep_alive, origin);
    }
    const Route* route = m.route;
    if (route->exec == Exec::kInline) return write(srv_.router.invoke(*route, req), keep_alive, origin);

    if (srv_.pending.fetch_add(1) >= srv_.opt.max_pending) {
      srv_.pending.fetch_sub(1);
      return write(error_response({503, "server-busy", "Too many requests in progress"}), keep_alive, origin);
    }
    net::post(*srv_.pool, [self = shared_from_this(), route, req = std::move(req), keep_alive,
                           origin = std::move(origin)]() mutable {
      Response resp = self->srv_.router.invoke(*route, req);
      self->srv_.pending.fetch_sub(1);
      net::post(self->stream_.get_executor(),
                [self, resp = std::move(resp), keep_alive, origin = std::move(origin)]() mutable {
                  self->write(std::move(resp), keep_alive, origin);
                });
    });
  }

  // Authenticates on the worker pool (the verifier may read the disk), then gives the stream
  // to the upgrade handler on this loop; this session ends there.
  void upgrade(const UpgradeRoute& u, Request req, std::string origin) {
    if (u.access == Access::kPublic) return hand_off(u, req);
    if (srv_.pending.fetch_add(1) >= srv_.opt.max_pending) {
      srv_.pending.fetch_sub(1);
      return write(error_response({503, "server-busy", "Too many requests in progress"}), false, origin);
    }
    net::post(*srv_.pool, [self = shared_from_this(), &u, req = std::move(req), origin = std::move(origin)]() mutable {
      std::optional<Response> denied;
      try {
        denied = self->srv_.router.authenticate(u.access, req);
      } catch (const std::exception& e) {
        log::error("http", std::string("upgrade authentication failed: ") + e.what());
        denied = error_response(ApiError::internal());
      }
      self->srv_.pending.fetch_sub(1);
      net::post(self->stream_.get_executor(), [self, &u, req = std::move(req), denied = std::move(denied),
                                               origin = std::move(origin)]() mutable {
        if (denied) return self->write(std::move(*denied), false, origin);
        self->hand_off(u, req);
      });
    });
  }

  // For a connection handed to another protocol (TURN on this port, a WebSocket): it keeps
  // counting against max_connections while that protocol serves it; this session ends now,
  // the slot when that protocol drops the connection.
  std::shared_ptr<void> connection_slot() {
    auto count = srv_.connections;
    count->fetch_add(1);
    server_metrics().open_connections.fetch_add(1);
    return std::shared_ptr<void>(nullptr, [count](void*) {
      count->fetch_sub(1);
      server_metrics().open_connections.fetch_sub(1);
    });
  }

  void hand_off(const UpgradeRoute& u, Request& req) {
    server_metrics().upgrades.inc();
    beast::get_lowest_layer(stream_).expires_never();
    // The handshake answer is built from the message: give it back its header fields.
    static_cast<bhttp::fields&>(parser_->get()) = req.headers;
    try {
      u.handler(req, parser_->release(), std::move(stream_), connection_slot());
    } catch (const std::exception& e) {
      log::error("http", std::string("upgrade handler failed: ") + e.what());
    }
  }

  Response preflight(const Request& req) {
    Response r = empty_response(204);
    r.with_header("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
    std::string_view asked = req.headers[bhttp::field::access_control_request_headers];
    r.with_header("Access-Control-Allow-Headers",
                  asked.empty() ? std::string("Authorization, Content-Type, Content-Encoding, tracestate")
                                : std::string(asked));
    r.with_header("Access-Control-Max-Age", "86400");
    return r;
  }

  void write(Response resp, bool keep_alive, const std::string& origin) {
    server_metrics().count(resp.status);
    if (resp.file) {
      auto res = std::make_shared<bhttp::response<FileSliceBody>>(static_cast<bhttp::status>(resp.status), 11);
      set_headers(*res, resp, origin);
      res->body() = std::move(*resp.file);
      res->keep_alive(keep_alive);
      res->prepare_payload();
      if (head_request_) {
        // The headers a GET would get (Content-Length included), and not the file.
        auto serializer = std::make_shared<bhttp::response_serializer<FileSliceBody>>(*res);
        return bhttp::async_write_header(stream_, *serializer,
                                         [self = shared_from_this(), res, serializer, keep_alive](
                                             beast::error_code ec, std::size_t) { self->after_write(ec, keep_alive); });
      }
      return send(std::move(res), keep_alive);
    }
    // In-memory bodies (every answer but a file) are written by hand into out_, which the
    // session reuses (see response_bytes.h). 1xx/204/304 answers drop a handler's stray body
    // (json_response(204, {}) has "null"); a HEAD answer has the headers a GET would have and
    // no body: a client that asked HEAD never reads one, so body bytes (an error's JSON) would
    // be taken for the next response.
    std::array<ResponseField, 4> cors;
    size_t cors_fields = 0;
    if (srv_.origin_allowed(origin)) {
      cors = {ResponseField{"Access-Control-Allow-Origin", origin},
              ResponseField{"Access-Control-Allow-Credentials", "true"},
              ResponseField{"Access-Control-Expose-Headers", "Location, Request-Id, Date, Content-Range, ETag"},
              ResponseField{"Vary", "Origin"}};
      cors_fields = cors.size();
    }
    serialize_response(resp, std::span<const ResponseField>(cors.data(), cors_fields), head_request_, keep_alive, out_);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    net::async_write(stream_, net::buffer(out_), [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
      // Kept for the next answer unless it was a big one: an idle keep-alive connection should
      // not hold the memory of its largest answer.
      if (self->out_.capacity() > kKeptAnswerBytes) std::string().swap(self->out_);
      self->after_write(ec, keep_alive);
    });
  }

  template <class Message>
  void set_headers(Message& res, const Response& resp, const std::string& origin) {
    // File answers' fields go through Beast, which writes them unchecked; a field that would
    // split the answer is dropped, as serialize_response() drops it for in-memory answers (an
    // asset's Content-Type is the uploader's text).
    res.set(bhttp::field::server, "wireboxd");
    if (!resp.content_type.empty() && !splits_response(resp.content_type))
      res.set(bhttp::field::content_type, resp.content_type);
    for (auto& [k, v] : resp.headers)
      if (!splits_response(k) && !splits_response(v)) res.insert(k, v);
    if (srv_.origin_allowed(origin)) {
      res.set(bhttp::field::access_control_allow_origin, origin);
      res.set(bhttp::field::access_control_allow_credentials, "true");
      res.set(bhttp::field::access_control_expose_headers, "Location, Request-Id, Date, Content-Range, ETag");
      res.set(bhttp::field::vary, "Origin");
    }
  }

  void send(std::shared_ptr<bhttp::response<FileSliceBody>> res, bool keep_alive) {
    // A file body goes out piece by piece under the stream watchdog, so a long download by a
    // live reader is not cut off, while a reader that stalls for 30 s still is.
    auto serializer = std::make_shared<bhttp::response_serializer<FileSliceBody>>(*res);
    watch_stream(std::chrono::seconds(30));
    write_file_piece(std::move(res), std::move(serializer), keep_alive);
  }

  void write_file_piece(std::shared_ptr<bhttp::response<FileSliceBody>> res,
                        std::shared_ptr<bhttp::response_serializer<FileSliceBody>> serializer, bool keep_alive) {
    auto& sr = *serializer;
    bhttp::async_write_some(stream_, sr,
                            [self = shared_from_this(), res = std::move(res), serializer = std::move(serializer),
                             keep_alive](beast::error_code ec, std::size_t) mutable {
                              self->stream_progress_ = std::chrono::steady_clock::now();
                              if (ec || serializer->is_done()) {
                                self->unwatch_stream();
                                self->cork(false);
                                return self->after_write(ec, keep_alive);
                              }
                              self->cork(true);
                              self->write_file_piece(std::move(res), std::move(serializer), keep_alive);
                            });
  }

  // Past the first piece of a file body (so the headers and first bytes leave at once), the
  // socket is corked: the kernel sends full 64 KiB segments instead of one per 16 KiB TLS
  // record, and wakes the receiver a quarter as often. perf showed those wake-ups (IPIs on
  // this VM) as the largest kernel cost of a download; A/B on 8 MiB downloads: -33 % server
  // CPU. Uncorked when the body is done, which sends the rest at once.
  void cork(bool on) {
    if (corked_ == on) return;
    corked_ = on;
    int value = on ? 1 : 0;
    ::setsockopt(beast::get_lowest_layer(stream_).socket().native_handle(), IPPROTO_TCP, TCP_CORK, &value,
                 sizeof value);
  }

  void after_write(beast::error_code ec, bool keep_alive) {
    if (ec) return;
    if (!keep_alive) return drain_after_write_ ? drain(kMaxDrainBytes) : shutdown();
    read();
  }

  // After refusing a body we did not read, discard what the client is still sending (bounded in
  // bytes and time) before closing: closing with unread bytes makes the kernel send a reset,
  // and a client still writing its upload would never see the 413 (api-client then retries the
  // "network error" forever).
  static constexpr size_t kMaxDrainBytes = 64 << 20;
  void drain(size_t budget) {
    if (drain_buffer_.empty()) {
      drain_buffer_.resize(16384);
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(3));  // one deadline for the whole drain
    }
    stream_.async_read_some(net::buffer(drain_buffer_),
                            [self = shared_from_this(), budget](beast::error_code ec, std::size_t n) {
                              if (ec || n >= budget) return self->shutdown();
                              self->drain(budget - n);
                            });
  }

  void shutdown() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().close(ignored);
    });
  }

  Server::Impl& srv_;
  TlsStream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::request_parser<SinkBody>> upload_parser_;
  std::unique_ptr<BodySink> sink_;
  bool head_request_ = false;  // the request being answered is a HEAD: headers only
  bool upload_keep_alive_ = false;
  // The watchdog of a streamed upload or download (see watch_stream); timeout 0 = none.
  net::steady_timer watchdog_;
  std::chrono::seconds stream_timeout_{0};
  std::chrono::steady_clock::time_point stream_progress_{};
  bool stream_paused_ = false;
  std::string upload_origin_;
  std::string remote_;
  bool drain_after_write_ = false;
  bool corked_ = false;  // TCP_CORK set for the file body being written
  std::string out_;      // the answer being written (in-memory bodies), reused across answers
  static constexpr size_t kKeptAnswerBytes = 16 * 1024;
  std::string drain_buffer_;
};

// Internal plain-HTTP listener: GET /metrics only, one request per connection.
class MetricsSession : public std::enable_shared_from_this<MetricsSession> {
 public:
  explicit MetricsSession(tcp::socket s) : stream_(std::move(s)) {}
  void run() {
    stream_.expires_after(std::chrono::seconds(10));
    bhttp::async_read(stream_, buffer_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->res_.version(11);
      if (self->req_.target() == "/metrics") {
        self->res_.result(bhttp::status::ok);
        self->res_.set(bhttp::field::content_type, "text/plain; version=0.0.4");
        self->res_.body() = Metrics::instance().render();
      } else {
        self->res_.result(bhttp::status::not_found);
        self->res_.body() = "not found\n";
      }
      self->res_.keep_alive(false);
      self->res_.prepare_payload();
      bhttp::async_write(self->stream_, self->res_, [self](beast::error_code, std::size_t) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    });
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::empty_body> req_;
  bhttp::response<bhttp::string_body> res_;
};

tcp::acceptor make_acceptor(net::io_context& ioc, const std::string& address, uint16_t port) {
  boost::system::error_code ec;
  auto addr = net::ip::make_address(address, ec);
  if (ec) throw std::runtime_error("invalid listen address '" + address + "'");
  tcp::endpoint ep(addr, port);
  tcp::acceptor a(ioc);
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
  return a;
}

}  // namespace

void Server::Impl::accept() {
  net::io_context& target = *loops[next_loop++ % loops.size()];
  acceptor->async_accept(target, [this](beast::error_code ec, LoopSocket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      if (connections->load() >= opt.max_connections) {
        server_metrics().rejected_connections.inc();
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(*this, std::move(socket))->run();
      }
    }
    if (ec && accept_pause.wait_if_needed(ec, "http", *accept_timer, [this] {
          if (acceptor->is_open()) accept();
        }))
      return;
    accept();
  });
}

void Server::Impl::accept_metrics() {
  metrics_acceptor->async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) std::make_shared<MetricsSession>(std::move(socket))->run();
    if (ec && metrics_accept_pause.wait_if_needed(ec, "metrics", *metrics_accept_timer, [this] {
          if (metrics_acceptor->is_open()) accept_metrics();
        }))
      return;
    accept_metrics();
  });
}

Server::Server(ServerOptions options, const Router& router) : impl_(std::make_unique<Impl>(std::move(options), router)) {}

Server::~Server() { stop(); }

void Server::start() {
  Impl& s = *impl_;
  configure_server_context(s.ssl_ctx, s.opt.tls);
  if (s.opt.shared_port) {
    const std::string& other = s.opt.shared_port->alpn;
    if (other.empty() || other.size() > 255) throw std::runtime_error("shared port protocol needs an ALPN name");
    // ALPN for a port shared with another protocol: http/1.1 first, then the other one; a
    // client offering neither goes on without ALPN, as it did before the port was shared.
    s.alpn_wire = std::string("\x08http/1.1") + static_cast<char>(other.size()) + other;
    select_alpn_from(s.ssl_ctx, s.alpn_wire);
  }
  int n = s.opt.loops > 0 ? s.opt.loops : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    s.loops.push_back(std::make_unique<net::io_context>(1));
    s.guards.push_back(net::make_work_guard(*s.loops.back()));
  }
  s.pool = std::make_unique<net::thread_pool>(static_cast<size_t>(std::max(1, s.opt.workers)));
  s.acceptor.emplace(make_acceptor(*s.loops[0], s.opt.address, s.opt.port));
  s.accept_timer.emplace(*s.loops[0]);
  s.metrics_accept_timer.emplace(*s.loops[0]);
  if (!s.opt.metrics_address.empty())
    s.metrics_acceptor.emplace(make_acceptor(*s.loops[0], s.opt.metrics_address, s.opt.metrics_port));
  s.port = s.acceptor->local_endpoint().port();
  if (s.metrics_acceptor) s.metrics_port = s.metrics_acceptor->local_endpoint().port();
  s.accept();
  if (s.metrics_acceptor) s.accept_metrics();
  for (auto& loop : s.loops) s.threads.emplace_back([ioc = loop.get()] { ioc->run(); });
  s.running = true;
}

void Server::stop() {
  Impl& s = *impl_;
  if (!s.running) return;
  s.running = false;
  net::post(*s.loops[0], [&s] {
    beast::error_code ignored;
    if (s.acceptor) s.acceptor->close(ignored);
    if (s.metrics_acceptor) s.metrics_acceptor->close(ignored);
    if (s.accept_timer) s.accept_timer->cancel();
    if (s.metrics_accept_timer) s.metrics_accept_timer->cancel();
  });
  // Let requests already handed to the pool commit before the loops go away.
  s.pool->join();
  for (auto& g : s.guards) g.reset();
  for (auto& loop : s.loops) loop->stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  // Destroy sockets and queued handlers (and so the sessions) while Impl is still alive.
  s.acceptor.reset();
  s.metrics_acceptor.reset();
  s.accept_timer.reset();
  s.metrics_accept_timer.reset();
  s.guards.clear();
  s.loops.clear();
}

net::io_context& Server::first_loop() { return *impl_->loops.at(0); }

void Server::post_blocking(std::function<void()> work) { net::post(*impl_->pool, std::move(work)); }

uint16_t Server::port() const { return impl_->port; }

uint16_t Server::metrics_port() const { return impl_->metrics_port; }

}  // namespace wirebox::http
