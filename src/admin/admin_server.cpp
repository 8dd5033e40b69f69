#include "admin/admin_server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "core/accept_pause.h"
#include "core/json_fields.h"
#include "core/log.h"

namespace wirebox::admin {
namespace net = boost::asio;
using local = net::local::stream_protocol;
using nlohmann::json;

json ok_line(json result) { return {{"ok", true}, {"result", std::move(result)}}; }
json error_line(const ApiError& error) { return {{"ok", false}, {"error", error.to_json()}}; }

struct AdminServer::State {
  std::string path;
  net::io_context& loop;
  PostBlocking post_blocking;
  Handler handler;
  std::optional<local::acceptor> acceptor;
  std::optional<net::steady_timer> accept_timer;  // on `loop`, made and destroyed with the acceptor
  AcceptPause accept_pause;
  std::atomic<size_t> connections{0};
  bool stopped = false;  // touched by the controlling thread only

  State(std::string p, net::io_context& l, PostBlocking pb, Handler h)
      : path(std::move(p)), loop(l), post_blocking(std::move(pb)), handler(std::move(h)) {}
  void accept(const std::shared_ptr<State>& self);
};

namespace {

constexpr size_t kStreamChunk = 256 * 1024;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<AdminServer::State> state, local::socket socket)
      : state_(std::move(state)), socket_(std::move(socket)) {}

  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
    if (!reply_.stream_file.empty()) ::unlink(reply_.stream_file.c_str());
    // A client that went away mid-transfer: the clean-up finish_reply() would have run (a
    // backup's staging directory) runs now, or every dropped backup left its copy behind.
    if (reply_.after_sent) state_->post_blocking(std::move(reply_.after_sent));
    --state_->connections;
  }

  void read_request() {
    net::async_read_until(socket_, net::dynamic_buffer(in_, kMaxRequestBytes + 1), '\n',
                          [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                            if (ec == net::error::not_found) {
                              self->send_line(error_line(ApiError{413, "too-large", "request line too long"}), false);
                              return;
                            }
                            if (ec) return;  // peer went away
                            std::string line = self->in_.substr(0, n - 1);
                            self->in_.erase(0, n);
                            self->dispatch(line);
                          });
  }

 private:
  void dispatch(const std::string& line) {
    json request = json_fields::parse_untrusted(line);
    if (request.is_discarded() || !request.is_object() || !request.contains("command") ||
        !request["command"].is_string()) {
      send_line(error_line(ApiError::bad_request("expected {\"command\":...,\"args\":{...}} on one line")), true);
      return;
    }
    std::string command = request["command"];
    json args = request.contains("args") ? request["args"] : json::object();
    if (!args.is_object()) {
      send_line(error_line(ApiError::bad_request("args must be an object")), true);
      return;
    }
    state_->post_blocking([self = shared_from_this(), command = std::move(command), args = std::move(args)] {
      AdminReply reply;
      try {
        reply = self->state_->handler(command, args);
      } catch (const std::exception& e) {
        reply.line = error_line(ApiError::internal(std::string("admin command failed: ") + e.what()));
      }
      net::post(self->socket_.get_executor(), [self, reply = std::move(reply)]() mutable {
        self->reply_ = std::move(reply);
        self->write_reply();
      });
    });
  }

  void send_line(json line, bool keep_open) {
    out_ = line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    net::async_write(socket_, net::buffer(out_), [self = shared_from_this(), keep_open](boost::system::error_code ec, size_t) {
      if (!ec && keep_open) self->read_request();
    });
  }

  void write_reply() {
    out_ = reply_.line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    net::async_write(socket_, net::buffer(out_), [self = shared_from_this()](boost::system::error_code ec, size_t) {
      if (ec) return;
      if (!self->reply_.stream_file.empty()) {
        self->state_->post_blocking([self] { self->read_chunk(); });
      } else {
        self->finish_reply();
      }
    });
  }

  // On the pool: the next piece of the streamed file.
  void read_chunk() {
    if (fd_ < 0) fd_ = ::open(reply_.stream_file.c_str(), O_RDONLY | O_CLOEXEC);
    ssize_t n = -1;
    if (fd_ >= 0) {
      chunk_.resize(kStreamChunk);
      do n = ::read(fd_, chunk_.data(), chunk_.size());
      while (n < 0 && errno == EINTR);
    }
    if (n < 0) {
      log::error("admin", "cannot stream " + reply_.stream_file + ": " + std::strerror(errno));
      net::post(socket_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->socket_.close(ignored);  // the client sees a short body and fails the transfer
      });
      return;
    }
    chunk_.resize(static_cast<size_t>(n));
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->chunk_.empty()) {
        self->finish_reply();
        return;
      }
      net::async_write(self->socket_, net::buffer(self->chunk_), [self](boost::system::error_code ec, size_t) {
        if (ec) return;
        self->state_->post_blocking([self] { self->read_chunk(); });
      });
    });
  }

  void finish_reply() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    AdminReply done = std::move(reply_);
    reply_ = AdminReply{};
    if (!done.stream_file.empty() || done.after_sent) {
      state_->post_blocking([done = std::move(done)] {
        if (!done.stream_file.empty()) ::unlink(done.stream_file.c_str());
        if (done.after_sent) done.after_sent();
      });
    }
    read_request();
  }

  std::shared_ptr<AdminServer::State> state_;
  local::socket socket_;
  std::string in_, out_, chunk_;
  AdminReply reply_;
  int fd_ = -1;
};

}  // namespace

void AdminServer::State::accept(const std::shared_ptr<State>& self) {
  acceptor->async_accept([self](boost::system::error_code ec, local::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      if (self->connections.load() >= kMaxConnections) {
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        ++self->connections;
        std::make_shared<Connection>(self, std::move(socket))->read_request();
      }
    }
    if (ec && self->accept_pause.wait_if_needed(ec, "admin", *self->accept_timer, [self] {
          if (self->acceptor && self->acceptor->is_open()) self->accept(self);
        }))
      return;
    if (self->acceptor && self->acceptor->is_open()) self->accept(self);
  });
}

AdminServer::AdminServer(std::string socket_path, net::io_context& loop, PostBlocking post_blocking, Handler handler)
    : state_(std::make_shared<State>(std::move(socket_path), loop, std::move(post_blocking), std::move(handler))) {}

AdminServer::~AdminServer() { stop(); }

Status AdminServer::start() {
  State& s = *state_;
  local::endpoint endpoint;
  try {
    endpoint = local::endpoint(s.path);
  } catch (const std::exception&) {
    return ApiError::bad_request("admin socket path too long (at most 107 bytes): " + s.path);
  }
  boost::system::error_code ec;
  struct stat st {};
  if (lstat(s.path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return ApiError::internal("admin socket path " + s.path + " exists and is not a socket");
    local::socket probe(s.loop);
    probe.connect(endpoint, ec);
    if (!ec) return ApiError::internal("another daemon is listening on the admin socket " + s.path);
    ::unlink(s.path.c_str());  // stale, left by a daemon that did not stop cleanly
  }
  local::acceptor acceptor(s.loop);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec && ::chmod(s.path.c_str(), 0660) != 0) ec.assign(errno, boost::system::system_category());
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return ApiError::internal("cannot listen on the admin socket " + s.path + ": " + ec.message());
  s.acceptor.emplace(std::move(acceptor));
  s.accept_timer.emplace(s.loop);
  s.accept(state_);
  return {};
}

void AdminServer::stop() {
  if (!state_->acceptor || state_->stopped) return;
  state_->stopped = true;
  auto closed = std::make_shared<std::promise<void>>();
  // The acceptor is closed and destroyed on its loop (asio objects are not thread-safe, and it
  // must not outlive the loop's io_context).
  net::post(state_->loop, [state = state_, closed] {
    boost::system::error_code ignored;
    state->acceptor->close(ignored);
    state->acceptor.reset();
    state->accept_timer.reset();  // cancels a pending pause
    closed->set_value();
  });
  if (closed->get_future().wait_for(std::chrono::seconds(5)) != std::future_status::ready)
    log::error("admin", "the I/O loop did not close the admin socket in time");
  ::unlink(state_->path.c_str());
}

}  // namespace wirebox::admin
