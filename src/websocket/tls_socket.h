// TlsSocket: a lean TLS stream for long-lived, mostly idle WebSockets. The HTTP server's
// beast::ssl_stream (Asio's ssl::stream) keeps two 17 KiB transport buffers per connection
// (plus a 2 x 17 KiB BIO pair) for its whole life, whatever SSL_MODE_RELEASE_BUFFERS says;
// for an idle /await socket that is most of its memory. TlsSocket takes the established
// session over after the upgrade request (take_over) and lets OpenSSL talk to the TCP socket
// directly through a socket BIO: OpenSSL allocates its record buffers only while a record is
// in flight and releases them afterwards (SSL_MODE_RELEASE_BUFFERS), and no other buffer is
// kept between operations.
//
// Asio AsyncStream (async_read_some / async_write_some), usable as the next layer of a Beast
// websocket::stream. One read and one write may be outstanding at once, on the socket's
// executor (the connection's event loop, single-threaded); OpenSSL's want-read/want-write is
// turned into async_wait on the socket. Not thread-safe.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/asio/error.hpp>

#include "http/router.h"

namespace wirebox::websocket {

class TlsSocket {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using next_layer_type = socket_type;

  // Takes the TLS session and the TCP socket out of an established beast::ssl_stream, which is
  // left empty. Fails if TLS bytes are still buffered in it (received data the session has not
  // processed, or output not yet written to the socket); the caller then drops the connection.
  // Nothing is buffered between the upgrade request and our 101 reply unless the client sent
  // WebSocket frames before the handshake completed, which no well-behaved client does.
  static std::optional<TlsSocket> take_over(http::TlsStream& stream);

  TlsSocket(TlsSocket&& other) noexcept : sock_(std::move(other.sock_)), ssl_(std::exchange(other.ssl_, nullptr)) {}
  TlsSocket& operator=(TlsSocket&&) = delete;
  TlsSocket(const TlsSocket&) = delete;
  ~TlsSocket();

  executor_type get_executor() { return sock_.get_executor(); }
  socket_type& next_layer() { return sock_; }
  const socket_type& next_layer() const { return sock_; }
  SSL* native_handle() { return ssl_; }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return boost::asio::async_compose<Handler, void(boost::beast::error_code, std::size_t)>(
        Op<ReadStep<MutableBuffers>>{*this, ReadStep<MutableBuffers>{buffers}}, handler, sock_);
  }

  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return boost::asio::async_compose<Handler, void(boost::beast::error_code, std::size_t)>(
        Op<WriteStep>{*this, WriteStep(buffers)}, handler, sock_);
  }

  // Ends the connection after the WebSocket closing handshake: close_notify (best effort), TCP
  // shutdown of our side, then reads and discards what the peer still sends until its
  // close_notify or FIN (at most kMaxDrainBytes), then closes. Closing with unread data would
  // make the kernel send an RST, and the peer could lose our close frame. (Beast 1.74's own TCP
  // teardown stops draining after the first read.) A peer that never answers is cut off by
  // the websocket stream's close timeout, which closes the socket.
  template <class Handler>
  auto async_teardown(Handler&& handler) {
    return boost::asio::async_compose<Handler, void(boost::beast::error_code)>(TeardownOp{*this}, handler, sock_);
  }

  static constexpr std::size_t kMaxDrainBytes = 1 << 20;

 private:
  TlsSocket(socket_type sock, SSL* ssl) : sock_(std::move(sock)), ssl_(ssl) {}

  // One SSL_read / SSL_write attempt: >0 bytes done, or the SSL_get_error() code (with the
  // mapped error for final failures).
  struct Attempt {
    std::size_t bytes = 0;
    int want = 0;  // SSL_ERROR_WANT_READ / SSL_ERROR_WANT_WRITE: retry when the socket is ready
    boost::beast::error_code ec;
  };
  Attempt attempt_read(void* data, std::size_t size);
  Attempt attempt_write(const void* data, std::size_t size);

  // A read first waits for the socket (unless OpenSSL holds unread bytes): OpenSSL allocates its
  // 16 KiB record buffer when SSL_read starts a record and keeps it until the record is done, so
  // an SSL_read parked on an idle socket would pin that buffer for as long as the socket idles.
  template <class MutableBuffers>
  struct ReadStep {
    MutableBuffers buffers;
    static constexpr bool wait_first = true;
    Attempt run(TlsSocket& s) {
      for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
        boost::asio::mutable_buffer b(*it);
        if (b.size() > 0) return s.attempt_read(b.data(), b.size());
      }
      return {};
    }
  };

  // Writes are coalesced into one record (up to 16 KiB): a WebSocket frame arrives as header +
  // payload, and two records would cost a second record header and MAC on the wire.
  struct WriteStep {
    static constexpr bool wait_first = false;
    std::string data;
    template <class ConstBuffers>
    explicit WriteStep(const ConstBuffers& buffers) {
      auto prefix = boost::beast::buffers_prefix(16384, buffers);
      data.resize(boost::asio::buffer_size(prefix));
      boost::asio::buffer_copy(boost::asio::buffer(data), prefix);
    }
    // SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER (set by Asio's engine) allows the retry to pass the
    // moved string's new address.
    Attempt run(TlsSocket& s) { return data.empty() ? Attempt{} : s.attempt_write(data.data(), data.size()); }
  };

  // The composed operation: attempt, wait for the socket as OpenSSL asks, attempt again. A
  // result available on the first attempt is delivered through post(), never inline.
  template <class Step>
  struct Op {
    TlsSocket& s;
    Step step;
    bool started = false;
    std::optional<Attempt> done = std::nullopt;

    template <class Self>
    void operator()(Self& self, boost::beast::error_code ec = {}) {
      if (done) return self.complete(done->ec, done->bytes);
      if (ec) return self.complete(ec, 0);
      bool first = !started;
      started = true;
      if (first && Step::wait_first && !SSL_has_pending(s.ssl_))
        return s.sock_.async_wait(socket_type::wait_read, std::move(self));
      Attempt a = step.run(s);
      if (a.want == SSL_ERROR_WANT_READ)
        return s.sock_.async_wait(socket_type::wait_read, std::move(self));
      if (a.want == SSL_ERROR_WANT_WRITE)
        return s.sock_.async_wait(socket_type::wait_write, std::move(self));
      if (!first) return self.complete(a.ec, a.bytes);
      done = a;
      boost::asio::post(s.sock_.get_executor(), std::move(self));
    }
  };

  struct TeardownOp {
    TlsSocket& s;
    std::size_t drained = 0;
    bool started = false;

    template <class Self>
    void operator()(Self& self, boost::beast::error_code ec = {}) {
      if (!started) {
        started = true;
        s.shutdown_tls();
        boost::beast::error_code ignored;
        s.sock_.shutdown(socket_type::shutdown_send, ignored);
        return s.sock_.async_wait(socket_type::wait_read, std::move(self));
      }
      while (!ec && drained <= kMaxDrainBytes) {
        char buf[4096];
        Attempt a = s.attempt_read(buf, sizeof buf);
        if (a.want == SSL_ERROR_WANT_READ) return s.sock_.async_wait(socket_type::wait_read, std::move(self));
        if (a.want != 0 || a.ec) break;  // close_notify (eof), FIN, or an error: done either way
        drained += a.bytes;
      }
      boost::beast::error_code ignored;
      s.sock_.close(ignored);
      self.complete(ec);
    }
  };

  void shutdown_tls() noexcept;  // close_notify if the socket takes it now; never waits

  socket_type sock_;
  SSL* ssl_ = nullptr;  // one reference, released in the destructor
};

// Found by Beast (ADL) at the end of a WebSocket close; we are always the server.
template <class TeardownHandler>
void async_teardown(boost::beast::role_type, TlsSocket& socket, TeardownHandler&& handler) {
  socket.async_teardown(std::forward<TeardownHandler>(handler));
}

}  // namespace wirebox::websocket
