// Test clients for wireboxd's listeners, loopback only, every operation bounded by a timeout.
//
//   wirebox::test::HttpsClient c(port);                       // TCP connect + TLS handshake
//   auto r = c.request("POST", "/v8/login", body, {{"Content-Type", "application/json"}});
//   r.status, r.body, r.header("Set-Cookie"), r.json()
//
// HttpsClient keeps one connection (keep-alive) and never reconnects behind your back, so two
// successful requests on one client prove the server kept the connection open; after the server
// closes it (Connection: close, timeout, shutdown) request() throws until reconnect(). The
// server certificate is not verified. Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace wirebox::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::multimap<std::string, std::string, CaseInsensitiveLess> headers;  // names case-insensitive
  bool keep_alive = false;  // the server left the connection open

  std::string header(const std::string& name) const;  // first value, "" if absent
  bool has_header(const std::string& name) const;
  std::vector<std::string> header_values(const std::string& name) const;  // e.g. every Set-Cookie
  nlohmann::json json() const;  // parsed body; throws nlohmann::json::exception if not JSON
};

struct ClientOptions {
  std::string host = "127.0.0.1";  // an IP literal: the client does not resolve names
  std::chrono::milliseconds timeout{5000};  // bound for connect+handshake and for each request
  // OpenSSL protocol versions (TLS1_2_VERSION, ...); 0 = library default. A maximum below
  // TLS 1.2 also lowers the client's security level so that it really offers the old protocol.
  int min_tls_version = 0;
  int max_tls_version = 0;
};

class HttpsClient {
 public:
  // Connects and completes the TLS handshake; throws std::runtime_error with the reason
  // (e.g. "TLS handshake failed: tlsv1 alert protocol version ...").
  explicit HttpsClient(uint16_t port, ClientOptions options = {});
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // Sends one request and reads the response. Host, User-Agent and Content-Length are added;
  // a non-empty body without a Content-Type header is sent as application/json. Throws
  // std::runtime_error if the connection is closed or the exchange fails or times out.
  HttpResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                       const Headers& headers = {});
  HttpResponse get(const std::string& target, const Headers& headers = {}) { return request("GET", target, "", headers); }
  HttpResponse post_json(const std::string& target, const nlohmann::json& body, const Headers& headers = {}) {
    return request("POST", target, body.dump(), headers);
  }
  // Writes bytes verbatim (a hand-made, possibly malformed request) and reads one response.
  HttpResponse send_raw(std::string_view bytes);

  bool is_open() const;
  // Waits (bounded) until the server closes the connection; false if it is still open.
  bool wait_closed(std::chrono::milliseconds timeout);
  void reconnect();  // closes the current connection, if any, and opens a new one
  uint16_t local_port() const;  // client side port of the current connection

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One GET over plain HTTP/1.1 (e.g. the internal metrics listener), connection closed after.
HttpResponse plain_http_get(uint16_t port, const std::string& target, const std::string& host = "127.0.0.1",
                            std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

}  // namespace wirebox::test
