#include "websocket/tls_socket.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

#include <boost/asio/error.hpp>
#include <boost/beast/core/stream_traits.hpp>

namespace wirebox::websocket {

namespace net = boost::asio;
using boost::beast::error_code;

namespace {

// A minimal socket BIO: like OpenSSL's, but send() with MSG_NOSIGNAL, so a peer that went
// away costs an EPIPE, not a SIGPIPE, whether or not the process ignores the signal.
int fd_of(BIO* b) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b))); }

bool transient_errno() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

int bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::send(fd_of(b), data, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0 && transient_errno()) BIO_set_retry_write(b);
  return static_cast<int>(n);
}

int bio_read(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::recv(fd_of(b), data, static_cast<size_t>(len), 0);
  if (n < 0 && transient_errno()) BIO_set_retry_read(b);
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO* new_socket_bio(int fd) {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "wirebox socket");
    if (m) {
      BIO_meth_set_write(m, bio_write);
      BIO_meth_set_read(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
      BIO_meth_set_create(m, bio_create);
    }
    return m;
  }();
  if (!method) return nullptr;
  BIO* b = BIO_new(method);
  if (b) BIO_set_data(b, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  return b;
}

}  // namespace

std::optional<TlsSocket> TlsSocket::take_over(http::TlsStream& stream) {
  SSL* ssl = stream.native_handle();
  if (!ssl) return std::nullopt;
  BIO* internal = SSL_get_rbio(ssl);  // Asio's half of its BIO pair
  if (SSL_has_pending(ssl) || (internal && (BIO_ctrl_pending(internal) > 0 || BIO_wpending(internal) > 0)))
    return std::nullopt;
  auto& tcp = stream.next_layer();  // http::LoopStream (beast::basic_stream)
  int fd = tcp.socket().native_handle();
  BIO* direct = new_socket_bio(fd);
  if (!direct) return std::nullopt;
  // Our own reference: Asio's engine frees its one when the emptied stream is destroyed.
  if (SSL_up_ref(ssl) != 1) {
    BIO_free(direct);
    return std::nullopt;
  }
  SSL_set_bio(ssl, direct, direct);  // frees the old pair half; the engine frees the other
  TlsSocket taken(tcp.release_socket(), ssl);
  error_code ec;
  taken.sock_.non_blocking(true, ec);  // OpenSSL reads and writes the descriptor itself
  if (ec) return std::nullopt;
  return taken;
}

TlsSocket::~TlsSocket() {
  if (ssl_) SSL_free(ssl_);
}

namespace {

// The final error of a failed SSL_read/SSL_write, as Asio's ssl::stream reports it.
error_code map_error(int err) {
  if (err == SSL_ERROR_ZERO_RETURN) return net::error::eof;  // close_notify received
  unsigned long e = ERR_get_error();
  if (err == SSL_ERROR_SYSCALL && e == 0) {
    if (errno != 0) return error_code(errno, boost::system::system_category());
    return net::ssl::error::stream_truncated;  // TCP closed without close_notify
  }
  if (e != 0) return error_code(static_cast<int>(e), net::error::get_ssl_category());
  return net::error::connection_reset;
}

}  // namespace

TlsSocket::Attempt TlsSocket::attempt_read(void* data, std::size_t size) {
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  int r = SSL_read_ex(ssl_, data, size, &n);
  if (r == 1) return {n, 0, {}};
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return {0, err, {}};
  return {0, 0, map_error(err)};
}

TlsSocket::Attempt TlsSocket::attempt_write(const void* data, std::size_t size) {
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  int r = SSL_write_ex(ssl_, data, size, &n);
  if (r == 1) return {n, 0, {}};
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return {0, err, {}};
  return {0, 0, map_error(err)};
}

void TlsSocket::shutdown_tls() noexcept {
  if (!ssl_ || !sock_.is_open()) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // non-blocking socket: sends close_notify or gives up, never waits
  ERR_clear_error();
}

}  // namespace wirebox::websocket
