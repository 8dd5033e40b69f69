#include "support/ws_client.h"

#include <deque>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>

namespace wirebox::test {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bws = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct WssClient::Impl {
  net::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  bws::stream<beast::ssl_stream<beast::tcp_stream>> ws{ioc, ctx};
  beast::flat_buffer buffer;
  std::deque<WsFrame> frames;
  std::optional<beast::error_code> read_error;
  bool reading = false;

  Impl() { ctx.set_verify_mode(ssl::verify_none); }

  // Runs handlers until done() or the deadline; false on timeout.
  template <class Done>
  bool run_until(Done&& done, Clock::time_point deadline) {
    while (!done()) {
      auto now = Clock::now();
      if (now >= deadline) return false;
      ioc.restart();
      if (ioc.run_one_for(deadline - now) == 0 && ioc.stopped() && !done()) {
        // No work left at all: nothing can change any more.
        if (!reading) return done();
      }
    }
    return true;
  }

  template <class Start>
  beast::error_code run_op(Start&& start, std::chrono::milliseconds timeout) {
    std::optional<beast::error_code> result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    if (!run_until([&] { return result.has_value(); }, Clock::now() + timeout))
      throw std::runtime_error("websocket operation timed out");
    return *result;
  }

  void start_read() {
    if (reading || read_error) return;
    reading = true;
    ws.async_read(buffer, [this](beast::error_code ec, std::size_t) {
      reading = false;
      if (ec) {
        read_error = ec;
        return;
      }
      frames.push_back({beast::buffers_to_string(buffer.data()), ws.got_text()});
      buffer.consume(buffer.size());
    });
  }
};

WssClient::WssClient(uint16_t port, const std::string& target, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  auto& layer = beast::get_lowest_layer(d.ws);
  layer.expires_after(timeout);
  auto ec = d.run_op([&](auto h) { layer.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), std::move(h)); },
                     timeout);
  if (ec) throw std::runtime_error("connect failed: " + ec.message());
  ec = d.run_op([&](auto h) { d.ws.next_layer().async_handshake(ssl::stream_base::client, std::move(h)); }, timeout);
  if (ec) throw std::runtime_error("TLS handshake failed: " + ec.message());
  bws::response_type res;
  ec = d.run_op([&](auto h) { d.ws.async_handshake(res, "127.0.0.1:" + std::to_string(port), target, std::move(h)); },
                timeout);
  if (ec) throw WsHandshakeError(static_cast<int>(res.result_int()), "websocket handshake failed: " + ec.message() +
                                                                         " status=" + std::to_string(res.result_int()));
  layer.expires_never();
}

WssClient::~WssClient() {
  beast::error_code ignored;
  beast::get_lowest_layer(impl_->ws).socket().close(ignored);
}

void WssClient::send_text(const std::string& text) {
  Impl& d = *impl_;
  d.ws.text(true);
  auto ec = d.run_op([&](auto h) { d.ws.async_write(net::buffer(text), std::move(h)); }, std::chrono::seconds(5));
  if (ec) throw std::runtime_error("websocket write failed: " + ec.message());
}

void WssClient::send_binary(const std::string& bytes) {
  Impl& d = *impl_;
  d.ws.binary(true);
  auto ec = d.run_op([&](auto h) { d.ws.async_write(net::buffer(bytes), std::move(h)); }, std::chrono::seconds(5));
  if (ec) throw std::runtime_error("websocket write failed: " + ec.message());
}

void WssClient::send_raw(const std::string& bytes) {
  Impl& d = *impl_;
  auto ec = d.run_op([&](auto h) { net::async_write(d.ws.next_layer(), net::buffer(bytes), std::move(h)); },
                     std::chrono::seconds(5));
  if (ec) throw std::runtime_error("raw write failed: " + ec.message());
}

void WssClient::send_raw_tcp(const std::string& bytes) {
  Impl& d = *impl_;
  auto ec = d.run_op(
      [&](auto h) { net::async_write(beast::get_lowest_layer(d.ws).socket(), net::buffer(bytes), std::move(h)); },
      std::chrono::seconds(5));
  if (ec) throw std::runtime_error("raw TCP write failed: " + ec.message());
}

std::optional<WsFrame> WssClient::read(std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  auto deadline = Clock::now() + timeout;
  d.start_read();
  d.run_until([&] { return !d.frames.empty() || d.read_error.has_value(); }, deadline);
  if (d.frames.empty()) return std::nullopt;
  WsFrame f = std::move(d.frames.front());
  d.frames.pop_front();
  d.start_read();
  return f;
}

std::optional<int> WssClient::wait_closed(std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    d.frames.clear();
    d.start_read();
    d.run_until([&] { return !d.frames.empty() || d.read_error.has_value(); }, deadline);
    if (d.read_error) {
      if (*d.read_error == bws::error::closed) return static_cast<int>(d.ws.reason().code);
      return 1006;
    }
    if (d.frames.empty()) return std::nullopt;
  }
}

bool WssClient::is_open() const { return impl_->ws.is_open() && !impl_->read_error; }

}  // namespace wirebox::test
