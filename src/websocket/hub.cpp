#include "websocket/hub.h"

#include <chrono>
#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "core/log.h"
#include "core/time.h"
#include "http/metrics.h"
#include "websocket/tls_socket.h"

namespace wirebox::websocket {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace bws = boost::beast::websocket;

namespace {

struct HubMetrics {
  std::atomic<int64_t> open{0};
  http::Counter& frames = http::Metrics::instance().counter("wirebox_websocket_frames_pushed_total",
                                                            "Notifications queued to WebSocket clients");
  http::Counter& slow = http::Metrics::instance().counter(
      "wirebox_websocket_slow_consumer_disconnects_total", "WebSockets closed because their send queue was full");
  http::Counter& expired = http::Metrics::instance().counter("wirebox_websocket_token_expiry_closes_total",
                                                             "WebSockets closed because the access token expired");
  http::Counter& evicted = http::Metrics::instance().counter(
      "wirebox_websocket_evicted_total", "WebSockets closed because their user opened more than max_sockets_per_user");
  http::Counter& accepted =
      http::Metrics::instance().counter("wirebox_websocket_accepted_total", "WebSocket handshakes completed");

  HubMetrics() {
    http::Metrics::instance().gauge("wirebox_websocket_connections", "Open WebSocket connections",
                                    [this] { return static_cast<double>(open.load()); });
  }
};

HubMetrics& metrics() {
  static HubMetrics m;
  return m;
}

using Frame = std::shared_ptr<const std::string>;

class Socket;

}  // namespace

struct Hub::Impl {
  HubOptions opt;
  mutable std::mutex mu;
  struct Entry {
    std::string client;
    Socket* raw;
    std::weak_ptr<Socket> socket;
  };
  std::unordered_map<std::string, std::vector<Entry>> by_user;
  size_t count = 0;

  explicit Impl(HubOptions o) : opt(o) {}
  // Registers s; returns the user's oldest socket, unregistered, if that made one too many.
  std::shared_ptr<Socket> add(const std::string& user, const std::string& client, const std::shared_ptr<Socket>& s);
  void remove(const std::string& user, Socket* s);
  // The user's open sockets, only those opened for one of `clients` unless it is empty.
  std::vector<std::shared_ptr<Socket>> sockets_of(const std::string& user, const std::vector<std::string>& clients);
};

namespace {

class Socket : public std::enable_shared_from_this<Socket> {
 public:
  Socket(std::shared_ptr<Hub::Impl> hub, TlsSocket&& stream, http::Identity identity, std::string client,
         std::shared_ptr<void> connection_slot)
      : hub_(std::move(hub)),
        slot_(std::move(connection_slot)),
        ws_(std::move(stream)),
        user_(std::move(identity.user_id)),
        client_(std::move(client)),
        expires_at_(identity.expires_at),
        expiry_(ws_.get_executor()) {}

  ~Socket() {
    if (registered_) {
      hub_->remove(user_, this);
      metrics().open.fetch_sub(1);
    }
  }

  void start(http::UpgradeMessage&& message) {
    bws::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(10);
    t.idle_timeout = std::chrono::seconds(hub_->opt.idle_timeout_seconds);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(bws::stream_base::decorator(
        [](bws::response_type& res) { res.set(beast::http::field::server, "wireboxd"); }));
    ws_.read_message_max(64 * 1024);  // clients only send "ping" (and acks on other sockets)
    ws_.auto_fragment(false);
    message_ = std::move(message);
    ws_.async_accept(*message_, [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
  }

  net::any_io_executor executor() { return ws_.get_executor(); }
  // On the socket's loop: the account was suspended or deleted.
  void close_blocked() { close(bws::close_reason(bws::close_code::policy_error, "account blocked")); }
  // On the socket's loop: sends what is queued, then closes.
  void close_after_queue(const bws::close_reason& reason) {
    if (closing_) return;
    closing_ = true;
    if (writing_ || !out_.empty()) {
      pending_close_ = reason;
      if (!writing_) write_next();
    } else {
      do_close(reason);
    }
  }

  // On the socket's loop.
  void enqueue(const Frame& frame, bool text = false) {
    if (closing_) return;
    if (out_.size() >= hub_->opt.max_queued_frames || queued_bytes_ + frame->size() > hub_->opt.max_queued_bytes) {
      metrics().slow.inc();
      log::info("websocket", "slow consumer disconnected user=" + user_ + " client=" + client_ +
                                 " queued=" + std::to_string(out_.size()));
      return abort();
    }
    out_.push_back({frame, text});
    queued_bytes_ += frame->size();
    if (!writing_) write_next();
  }

 private:
  struct Out {
    Frame data;
    bool text;
  };

  void on_accept(beast::error_code ec) {
    message_.reset();
    if (ec) return;
    registered_ = true;
    metrics().open.fetch_add(1);
    metrics().accepted.inc();
    if (auto oldest = hub_->add(user_, client_, shared_from_this())) {
      metrics().evicted.inc();
      net::post(oldest->executor(), [oldest] {
        oldest->close(bws::close_reason(bws::close_code::policy_error, "too many sockets for this user"));
      });
    }
    if (expires_at_ > 0) {
      expiry_.expires_after(std::chrono::seconds(std::max<int64_t>(0, expires_at_ - now_seconds())));
      expiry_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (e) return;
        metrics().expired.inc();
        self->close(bws::close_reason(bws::close_code::normal, "access token expired"));
      });
    }
    read();
  }

  void read() {
    ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  // A failed read covers the bad input Beast detects itself: malformed or unmasked frames
  // (closed with 1002), messages over read_message_max (1009), invalid UTF-8 (1007), TLS garbage
  // (dropped). Beast sends the close frame where there is one to send.
  void on_read(beast::error_code ec) {
    if (ec) return finish();
    if (!ws_.got_text()) {  // clients send text only ("ping", acks): binary is not our protocol
      in_.consume(in_.size());
      return close(bws::close_reason(bws::close_code::unknown_data, "binary frames are not accepted"));
    }
    bool ping = ws_.got_text() && in_.size() == 4 && beast::buffers_to_string(in_.data()) == "ping";
    in_.consume(in_.size());
    if (ping) {
      static const Frame pong = std::make_shared<const std::string>("pong");
      enqueue(pong, true);
    }
    read();
  }

  void write_next() {
    writing_ = true;
    const Out& o = out_.front();
    ws_.text(o.text);
    ws_.async_write(net::buffer(*o.data), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      self->queued_bytes_ -= self->out_.front().data->size();
      self->out_.pop_front();
      if (ec) return self->abort();
      if (!self->out_.empty()) return self->write_next();
      if (self->pending_close_) {
        auto reason = *self->pending_close_;
        self->pending_close_.reset();
        self->do_close(reason);
      }
    });
  }

  void close(const bws::close_reason& reason) {
    if (closing_) return;
    closing_ = true;
    // Frames still queued are dropped: the client fetches them from /notifications.
    while (out_.size() > (writing_ ? 1u : 0u)) {
      queued_bytes_ -= out_.back().data->size();
      out_.pop_back();
    }
    if (writing_) pending_close_ = reason;
    else do_close(reason);
  }

  void do_close(const bws::close_reason& reason) {
    ws_.async_close(reason, [self = shared_from_this()](beast::error_code) { self->finish(); });
  }

  // Drops the connection without a closing handshake (a stuck peer would never complete one).
  void abort() {
    closing_ = true;
    finish();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
  }

  // The socket is going away: stop receiving pushes now.
  void finish() {
    expiry_.cancel();
    if (registered_) hub_->remove(user_, this);
  }

  std::shared_ptr<Hub::Impl> hub_;
  std::shared_ptr<void> slot_;  // the connection's place in the HTTP server's max_connections
  bws::stream<TlsSocket> ws_;
  std::string user_, client_;
  int64_t expires_at_;
  net::steady_timer expiry_;
  std::optional<http::UpgradeMessage> message_;
  beast::flat_buffer in_;
  std::deque<Out> out_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool registered_ = false;
  std::optional<bws::close_reason> pending_close_;
};

}  // namespace

std::shared_ptr<Socket> Hub::Impl::add(const std::string& user, const std::string& client,
                                       const std::shared_ptr<Socket>& s) {
  std::lock_guard<std::mutex> lock(mu);
  auto& v = by_user[user];
  v.push_back(Entry{client, s.get(), s});
  ++count;
  if (v.size() <= opt.max_sockets_per_user) return nullptr;
  auto oldest = v.front().socket.lock();
  v.erase(v.begin());
  --count;
  return oldest;
}

std::vector<std::shared_ptr<Socket>> Hub::Impl::sockets_of(const std::string& user,
                                                          const std::vector<std::string>& clients) {
  std::vector<std::shared_ptr<Socket>> out;  // released after the lock (a last ref runs ~Socket)
  std::lock_guard<std::mutex> lock(mu);
  auto it = by_user.find(user);
  if (it == by_user.end()) return out;
  for (const auto& e : it->second) {
    if (!clients.empty() && std::find(clients.begin(), clients.end(), e.client) == clients.end()) continue;
    if (auto s = e.socket.lock()) out.push_back(std::move(s));
  }
  return out;
}

void Hub::Impl::remove(const std::string& user, Socket* s) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = by_user.find(user);
  if (it == by_user.end()) return;
  auto& v = it->second;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i].raw != s) continue;
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));  // in opening order: the oldest is first
    --count;
    break;
  }
  if (v.empty()) by_user.erase(it);
}

Hub::Hub(HubOptions options) : impl_(std::make_shared<Impl>(options)) { metrics(); }

Hub::~Hub() = default;

void Hub::accept(http::Request& req, http::UpgradeMessage&& message, http::TlsStream&& stream,
                 std::shared_ptr<void> connection_slot) {
  std::string client = req.query_param("client").value_or(req.identity.client_id);
  auto lean = TlsSocket::take_over(stream);
  if (!lean) {
    log::info("websocket", "data buffered before the upgrade completed; connection dropped user=" + req.identity.user_id);
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
    return;
  }
  auto s = std::make_shared<Socket>(impl_, std::move(*lean), req.identity, std::move(client), std::move(connection_slot));
  s->start(std::move(message));
}

void Hub::push(const notifications::Delivery& delivery, const std::string& notification_id, bool transient) {
  auto targets = impl_->sockets_of(delivery.user_id, delivery.clients);
  if (targets.empty()) return;
  nlohmann::json frame = {{"id", notification_id}, {"transient", transient}, {"payload", delivery.payload}};
  Frame data = std::make_shared<const std::string>(frame.dump());
  for (auto& s : targets) {
    metrics().frames.inc();
    auto ex = s->executor();
    net::post(ex, [s = std::move(s), data] { s->enqueue(data); });
  }
}

void Hub::disconnect_user(const std::string& user_id) {
  for (auto& s : impl_->sockets_of(user_id, {})) {
    auto ex = s->executor();
    net::post(ex, [s = std::move(s)] { s->close_blocked(); });
  }
}

void Hub::disconnect_client(const std::string& user_id, const std::string& client_id) {
  for (auto& s : impl_->sockets_of(user_id, {client_id})) {
    auto ex = s->executor();
    net::post(ex, [s = std::move(s)] {
      s->close_after_queue(bws::close_reason(bws::close_code::policy_error, "client removed"));
    });
  }
}

size_t Hub::open_sockets() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->count;
}

void register_routes(http::Router& router, Hub& hub) {
  router.add_upgrade("/await", http::Access::kUser,
                     [&hub](http::Request& req, http::UpgradeMessage&& message, http::TlsStream&& stream,
                            std::shared_ptr<void> connection_slot) {
                       hub.accept(req, std::move(message), std::move(stream), std::move(connection_slot));
                     });
}

}  // namespace wirebox::websocket
