#include "support/tls_client.h"

#include <poll.h>
#include <strings.h>

#include <cerrno>
#include <limits>
#include <optional>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>

namespace wirebox::test {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

bool CaseInsensitiveLess::operator()(const std::string& a, const std::string& b) const {
  return strcasecmp(a.c_str(), b.c_str()) < 0;
}

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

bool HttpResponse::has_header(const std::string& name) const { return headers.count(name) > 0; }

std::vector<std::string> HttpResponse::header_values(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = headers.equal_range(name);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

nlohmann::json HttpResponse::json() const { return nlohmann::json::parse(body); }

namespace {

// Runs one asynchronous operation to completion on ioc and returns its error. Timeouts come
// from the beast::tcp_stream expiry set by the caller (the operation then fails with
// beast::error::timeout), so this never blocks unboundedly.
template <class Start>
beast::error_code run_op(net::io_context& ioc, Start&& start) {
  beast::error_code result;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

HttpResponse to_response(bhttp::response<bhttp::string_body>&& res) {
  HttpResponse r;
  r.status = static_cast<int>(res.result_int());
  for (const auto& f : res) r.headers.emplace(std::string(f.name_string()), std::string(f.value()));
  r.keep_alive = res.keep_alive();
  r.body = std::move(res.body());
  return r;
}

bool iequals(const std::string& a, const char* b) { return strcasecmp(a.c_str(), b) == 0; }

std::string host_header(const std::string& host, uint16_t port) {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

}  // namespace

struct HttpsClient::Impl {
  uint16_t port;
  ClientOptions opt;
  net::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
  beast::flat_buffer buffer;
  bool open = false;

  Impl(uint16_t p, ClientOptions o) : port(p), opt(std::move(o)) {
    ctx.set_verify_mode(ssl::verify_none);
    SSL_CTX* native = ctx.native_handle();
    if (opt.min_tls_version) SSL_CTX_set_min_proto_version(native, opt.min_tls_version);
    if (opt.max_tls_version) {
      SSL_CTX_set_max_proto_version(native, opt.max_tls_version);
      if (opt.max_tls_version < TLS1_2_VERSION) {
        // OpenSSL 3's default security level refuses to offer TLS < 1.2 at all; lower it so the
        // server, not this client, is what decides.
        SSL_CTX_set_min_proto_version(native, opt.min_tls_version ? opt.min_tls_version : TLS1_VERSION);
        SSL_CTX_set_security_level(native, 0);
        SSL_CTX_set_cipher_list(native, "DEFAULT:@SECLEVEL=0");
      }
    }
  }

  void close() {
    if (stream) {
      beast::error_code ignored;
      beast::get_lowest_layer(*stream).socket().close(ignored);
      stream.reset();
    }
    open = false;
    buffer.clear();
  }

  void connect() {
    close();
    beast::error_code ec;
    auto addr = net::ip::make_address(opt.host, ec);
    if (ec) throw std::runtime_error("bad client host '" + opt.host + "': " + ec.message());
    stream.emplace(ioc, ctx);
    auto& layer = beast::get_lowest_layer(*stream);
    layer.expires_after(opt.timeout);
    ec = run_op(ioc, [&](auto h) { layer.async_connect(tcp::endpoint(addr, port), std::move(h)); });
    if (ec) {
      close();
      throw std::runtime_error("connect to " + host_header(opt.host, port) + " failed: " + ec.message());
    }
    layer.expires_after(opt.timeout);
    ec = run_op(ioc, [&](auto h) { stream->async_handshake(ssl::stream_base::client, std::move(h)); });
    if (ec) {
      close();
      throw std::runtime_error("TLS handshake failed: " + ec.message());
    }
    layer.expires_never();
    open = true;
  }

  template <class StartWrite>
  HttpResponse exchange(StartWrite&& start_write, bool head) {
    if (!open) throw std::runtime_error("connection is closed (the server closed it, or reconnect() is needed)");
    auto& layer = beast::get_lowest_layer(*stream);
    layer.expires_after(opt.timeout);
    // A write error does not end the exchange: a server that rejects a request early (413)
    // may close its side while the body is still being sent, after answering.
    beast::error_code wec = run_op(ioc, start_write);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (head) parser.skip(true);
    layer.expires_after(opt.timeout);
    beast::error_code rec = run_op(ioc, [&](auto h) { bhttp::async_read(*stream, buffer, parser, std::move(h)); });
    if (rec) {
      close();
      std::string why = "read: " + rec.message();
      if (wec) why = "write: " + wec.message() + "; " + why;
      throw std::runtime_error("request failed: " + why);
    }
    layer.expires_never();
    HttpResponse r = to_response(parser.release());
    if (!r.keep_alive || wec) close();
    return r;
  }
};

HttpsClient::HttpsClient(uint16_t port, ClientOptions options)
    : impl_(std::make_unique<Impl>(port, std::move(options))) {
  impl_->connect();
}

HttpsClient::~HttpsClient() { impl_->close(); }

HttpResponse HttpsClient::request(const std::string& method, const std::string& target, const std::string& body,
                                  const Headers& headers) {
  bhttp::request<bhttp::string_body> req;
  bhttp::verb v = bhttp::string_to_verb(method);
  if (v == bhttp::verb::unknown) req.method_string(method);
  else req.method(v);
  req.target(target);
  req.version(11);
  bool has_host = false, has_agent = false, has_type = false;
  for (const auto& [name, value] : headers) {
    has_host = has_host || iequals(name, "Host");
    has_agent = has_agent || iequals(name, "User-Agent");
    has_type = has_type || iequals(name, "Content-Type");
    req.insert(name, value);
  }
  if (!has_host) req.set(bhttp::field::host, host_header(impl_->opt.host, impl_->port));
  if (!has_agent) req.set(bhttp::field::user_agent, "wirebox-tests");
  if (!body.empty() && !has_type) req.set(bhttp::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  return impl_->exchange([&](auto h) { bhttp::async_write(*impl_->stream, req, std::move(h)); },
                         v == bhttp::verb::head);
}

HttpResponse HttpsClient::send_raw(std::string_view bytes) {
  return impl_->exchange([&](auto h) { net::async_write(*impl_->stream, net::buffer(bytes), std::move(h)); }, false);
}

bool HttpsClient::is_open() const { return impl_->open; }

bool HttpsClient::wait_closed(std::chrono::milliseconds timeout) {
  if (!impl_->open) return true;
  int fd = beast::get_lowest_layer(*impl_->stream).socket().native_handle();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLRDHUP, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
      impl_->close();
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n >= 0 && std::chrono::steady_clock::now() >= deadline) return false;
    if (n < 0) throw std::runtime_error("poll failed");
  }
}

void HttpsClient::reconnect() { impl_->connect(); }

uint16_t HttpsClient::local_port() const {
  if (!impl_->stream) return 0;
  beast::error_code ec;
  auto ep = beast::get_lowest_layer(*impl_->stream).socket().local_endpoint(ec);
  return ec ? 0 : ep.port();
}

HttpResponse plain_http_get(uint16_t port, const std::string& target, const std::string& host,
                            std::chrono::milliseconds timeout) {
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  beast::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("bad host '" + host + "'");
  s.expires_after(timeout);
  ec = run_op(ioc, [&](auto h) { s.async_connect(tcp::endpoint(addr, port), std::move(h)); });
  if (ec) throw std::runtime_error("connect failed: " + ec.message());
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, host_header(host, port));
  req.set(bhttp::field::user_agent, "wirebox-tests");
  req.keep_alive(false);
  s.expires_after(timeout);
  ec = run_op(ioc, [&](auto h) { bhttp::async_write(s, req, std::move(h)); });
  if (ec) throw std::runtime_error("write failed: " + ec.message());
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  s.expires_after(timeout);
  ec = run_op(ioc, [&](auto h) { bhttp::async_read(s, buffer, parser, std::move(h)); });
  if (ec) throw std::runtime_error("read failed: " + ec.message());
  return to_response(parser.release());
}

}  // namespace wirebox::test
