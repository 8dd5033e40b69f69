// TURN over TLS on the HTTPS port (turns:host:443): a real Daemon on loopback, a TURN client
// speaking raw TLS to the port that serves the API. Allocate with the credentials
// /calls/config/v2 hands out, ChannelData both ways through a UDP echo peer (padding included),
// the allocation gone when the connection closes; found by ALPN "stun.turn" and, without ALPN,
// by its first bytes; HTTPS on the same port unaffected (keep-alive, ALPN http/1.1, HEAD), and
// with turn.tls_on_https_port=false neither served nor advertised. Every wait is bounded.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "apps/wireboxd/daemon.h"
#include "calling/turn/channel_data.h"
#include "calling/turn/stun_attributes.h"
#include "calling/turn/stun_integrity.h"
#include "calling/turn/stun_message.h"
#include "calling/turn/stun_message_writer.h"
#include "http/metrics.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"
#include "loopback_udp.h"
#include "turn_test_session.h"

using namespace wirebox;
using namespace wirebox::turn;
using nlohmann::json;

namespace {

struct Box {
  wirebox::test::TempDir dir;
  std::unique_ptr<Daemon> daemon;

  explicit Box(bool tls_on_https_port = true, std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> o = {
        {"server.data_dir", dir.path()},       {"http.listen", "127.0.0.1:0"},
        {"http.loops", "1"},                   {"http.workers", "2"},
        {"auth.password_scrypt_log2_n", "10"}, {"turn.loops", "1"},
        {"turn.allow_loopback_peers", "true"}, {"turn.tls_on_https_port", tls_on_https_port ? "true" : "false"}};
    o.merge(extra);
    auto config = load_config(std::nullopt, o);
    REQUIRE(config.ok());
    daemon = std::make_unique<Daemon>(config.value());
    daemon->start();
  }
  uint16_t port() const { return daemon->port(); }

  // A new user's /calls/config/v2 answer.
  json calls_config() {
    wirebox::test::HttpsClient c(port());
    auto r = c.post_json("/v8/register", {{"name", "caller"}, {"email", "caller@example.com"},
                                          {"password", "secret-password"}});
    REQUIRE(r.status == 201);
    std::string cookie = r.header("Set-Cookie");
    cookie = cookie.substr(0, cookie.find(';'));
    auto access = c.request("POST", "/access", "", {{"Cookie", cookie}});
    REQUIRE(access.status == 200);
    std::string token = access.json()["access_token"];
    auto config = c.get("/v8/calls/config/v2", {{"Authorization", "Bearer " + token}});
    REQUIRE(config.status == 200);
    return config.json();
  }
};

// A blocking TCP socket connected to 127.0.0.1:port with 5 s timeouts, or -1.
int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) return fd;
  ::close(fd);
  return -1;
}

// A blocking TLS client with 5 s socket timeouts, certificate not verified.
class TlsSocket {
 public:
  explicit TlsSocket(uint16_t port, const std::string& alpn_wire = "") {
    fd_ = connect_loopback(port);
    REQUIRE(fd_ >= 0);
    ctx_ = SSL_CTX_new(TLS_client_method());
    ssl_ = SSL_new(ctx_);
    if (!alpn_wire.empty())
      SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(alpn_wire.data()),
                          static_cast<unsigned>(alpn_wire.size()));
    SSL_set_fd(ssl_, fd_);
    REQUIRE(SSL_connect(ssl_) == 1);
  }
  ~TlsSocket() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  std::string alpn() const {
    const unsigned char* p = nullptr;
    unsigned n = 0;
    SSL_get0_alpn_selected(ssl_, &p, &n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  void write(std::span<const uint8_t> bytes) {
    REQUIRE(SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) == static_cast<int>(bytes.size()));
  }
  // Bytes until `done(received)` holds; what came so far on timeout or close.
  template <class Done>
  std::vector<uint8_t> read_until(Done done) {
    uint8_t buf[4096];
    while (!done(received_)) {
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) break;
      received_.insert(received_.end(), buf, buf + n);
    }
    return received_;
  }
  // The next complete STUN or ChannelData message (with its stream padding), empty on failure.
  std::vector<uint8_t> read_message() {
    auto complete = [](const std::vector<uint8_t>& b) {
      size_t f = stream_frame_size(b);
      return f != 0;
    };
    read_until(complete);
    size_t f = stream_frame_size(received_);
    if (f == 0 || f == kFramingError) return {};
    std::vector<uint8_t> m(received_.begin(), received_.begin() + static_cast<std::ptrdiff_t>(f));
    received_.erase(received_.begin(), received_.begin() + static_cast<std::ptrdiff_t>(f));
    return m;
  }
  void close() {
    SSL_shutdown(ssl_);
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::vector<uint8_t> received_;
};

// Whether a TLS handshake with the port completes (the server closes connections over its
// limit at once).
bool tls_handshake_completes(uint16_t port) {
  int fd = connect_loopback(port);
  if (fd < 0) return false;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  bool ok = SSL_connect(ssl) == 1;
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  ::close(fd);
  return ok;
}

// A TURN client over one TlsSocket, long-term credentials from /calls/config.
struct TurnClient : wirebox::test::TurnTestSession {
  TurnClient(TlsSocket& t, std::string u, std::string p) : tls(t) {
    username = std::move(u);
    password = std::move(p);
  }

  TlsSocket& tls;

  auto exchange() {
    return [this](std::span<const uint8_t> bytes) {
      tls.write(bytes);
      return tls.read_message();
    };
  }
  template <class Fill>
  int request(StunMethod method, Fill fill) {
    return TurnTestSession::request(method, fill, exchange());
  }
  int allocate() { return TurnTestSession::allocate(exchange()); }
};

std::string metric_line(const std::string& name) {
  std::string text = http::Metrics::instance().render();
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return "";
  return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

// Polls the metric until it reads `value` (5 s at most).
bool metric_becomes(const std::string& name, const std::string& value) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (metric_line(name) != name + " " + value) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string alpn_wire(std::initializer_list<std::string> names) {
  std::string w;
  for (const auto& n : names) w += static_cast<char>(n.size()) + n;
  return w;
}

}  // namespace

TEST_CASE("TURN over TLS on the HTTPS port: allocate, ChannelData both ways, closing ends it",
          "[turn][https-port]") {
  Box box;
  json config = box.calls_config();
  const json& server = config["ice_servers"][0];
  std::string url = "turns:127.0.0.1:" + std::to_string(box.port()) + "?transport=tcp";
  INFO(server.dump());
  REQUIRE(std::find(server["urls"].begin(), server["urls"].end(), url) != server["urls"].end());
  // Last of the TLS URLs, so ?limit keeps the 5349 one first.
  CHECK(server["urls"].back() == url);

  bool with_alpn = GENERATE(false, true);
  INFO("ALPN stun.turn offered: " << with_alpn);
  TlsSocket tls(box.port(), with_alpn ? alpn_wire({"stun.turn"}) : "");
  CHECK(tls.alpn() == (with_alpn ? "stun.turn" : ""));
  TurnClient c(tls, server["username"], server["credential"]);

  // Binding first (no credentials), then the real thing.
  REQUIRE(c.request(StunMethod::kBinding, [](StunMessageWriter&) {}) == 0);
  REQUIRE(c.allocate() == 0);
  CHECK(c.realm == "wirebox.localhost");
  auto relayed = decode_xor_address(c.response.find(attr::kXorRelayedAddress)->value, c.response.transaction_id());
  REQUIRE(relayed);
  CHECK(metric_becomes("wirebox_turn_allocations", "1"));

  turn::test::LoopbackUdp peer;
  REQUIRE(c.request(StunMethod::kChannelBind, [&](StunMessageWriter& w) {
    w.add_u32(attr::kChannelNumber, uint32_t{0x4001} << 16);
    w.add_xor_address(attr::kXorPeerAddress, peer.local);
  }) == 0);

  // Client → peer: 4 + 5 bytes, padded to 12 on the stream, followed in the same write by a
  // second message (4 + 3, padded to 8), so the framing must split them.
  std::vector<uint8_t> two(20, 0);
  write_channel_data_header(two.data(), 0x4001, 5);
  std::memcpy(two.data() + 4, "hello", 5);
  write_channel_data_header(two.data() + 12, 0x4001, 3);
  std::memcpy(two.data() + 16, "abc", 3);
  tls.write(two);
  Endpoint from;
  CHECK(peer.receive(from) == "hello");
  CHECK(from == *relayed);
  CHECK(peer.receive(from) == "abc");

  // Peer → client: arrives as ChannelData, padded to 4 bytes on the stream.
  REQUIRE(::sendto(peer.fd, "world", 5, 0, relayed->data(), relayed->size()) == 5);
  auto back = tls.read_message();
  REQUIRE(back.size() == 12);
  ChannelData cd;
  REQUIRE(parse_channel_data(back, cd) == ChannelDataStatus::kOk);
  CHECK(cd.channel == 0x4001);
  CHECK(std::string(cd.data.begin(), cd.data.end()) == "world");

  tls.close();
  CHECK(metric_becomes("wirebox_turn_allocations", "0"));
}

TEST_CASE("HTTPS on the shared port works as before", "[turn][https-port]") {
  Box box;
  wirebox::test::HttpsClient c(box.port());
  auto a = c.get("/api-version");
  CHECK(a.status == 200);
  std::string before = metric_line("wirebox_http_shared_port_connections_total");
  REQUIRE_FALSE(before.empty());
  auto b = c.request("HEAD", "/api-version");  // the GET route's headers only
  CHECK(b.status == 200);
  CHECK(b.body.empty());
  auto d = c.get("/api-version");  // the same connection: keep-alive survived the detection
  CHECK(d.status == 200);
  CHECK(d.json()["domain"] == "wirebox.localhost");
  CHECK(metric_line("wirebox_http_shared_port_connections_total") == before);

  // A browser's ALPN list gets http/1.1; a raw request on that connection is answered.
  TlsSocket browser(box.port(), alpn_wire({"h2", "http/1.1"}));
  CHECK(browser.alpn() == "http/1.1");
  std::string get = "GET /api-version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  browser.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(get.data()), get.size()));
  auto reply = browser.read_until([](const std::vector<uint8_t>& r) {
    return std::string(r.begin(), r.end()).find("\"supported\"") != std::string::npos;
  });
  CHECK(std::string(reply.begin(), reply.end()).rfind("HTTP/1.1 200 OK\r\n", 0) == 0);

  // Bytes that are neither HTTP nor STUN (top bits 0, no magic cookie) stay HTTP's: 400.
  TlsSocket junk(box.port());
  std::vector<uint8_t> bytes(20, 0x01);
  junk.write(bytes);
  auto answer = junk.read_until([](const std::vector<uint8_t>& r) {
    return std::string(r.begin(), r.end()).find("\r\n\r\n") != std::string::npos;
  });
  CHECK(std::string(answer.begin(), answer.end()).rfind("HTTP/1.1 400", 0) == 0);
}

TEST_CASE("turn.tls_on_https_port=false: neither served nor advertised", "[turn][https-port]") {
  Box box(false);
  json config = box.calls_config();
  for (const auto& u : config["ice_servers"][0]["urls"])
    CHECK(std::string(u).find(":" + std::to_string(box.port()) + "?") == std::string::npos);
  TlsSocket tls(box.port(), alpn_wire({"stun.turn"}));
  CHECK(tls.alpn().empty());  // no ALPN callback at all, as before the feature
  TurnClient c(tls, "", "");
  CHECK(c.request(StunMethod::kBinding, [](StunMessageWriter&) {}) == -1);  // HTTP's 400, not STUN
}

TEST_CASE("TURN connections on the HTTPS port count against http.max_connections until they close",
          "[turn][https-port]") {
  Box box(true, {{"http.max_connections", "2"}});
  TlsSocket first(box.port(), alpn_wire({"stun.turn"}));
  TurnClient a(first, "", "");
  REQUIRE(a.request(StunMethod::kBinding, [](StunMessageWriter&) {}) == 0);  // handed to TURN
  TlsSocket second(box.port(), alpn_wire({"stun.turn"}));
  TurnClient b(second, "", "");
  REQUIRE(b.request(StunMethod::kBinding, [](StunMessageWriter&) {}) == 0);
  CHECK(metric_becomes("wirebox_http_connections", "2"));
  CHECK_FALSE(tls_handshake_completes(box.port()));  // both places are taken by TURN

  first.close();
  CHECK(metric_becomes("wirebox_http_connections", "1"));
  CHECK(tls_handshake_completes(box.port()));
}

TEST_CASE("the TURN TLS listener selects ALPN stun.turn when offered (RFC 7443)", "[turn][https-port]") {
  Box box;
  json config = box.calls_config();
  uint16_t tls_port = 0;
  for (const auto& u : config["ice_servers"][0]["urls"]) {
    std::string url = u;
    if (url.rfind("turns:127.0.0.1:", 0) != 0) continue;
    auto port = static_cast<uint16_t>(std::stoi(url.substr(16)));
    if (port != box.port()) tls_port = port;
  }
  REQUIRE(tls_port != 0);
  TlsSocket with_alpn(tls_port, alpn_wire({"h2", "stun.turn"}));
  CHECK(with_alpn.alpn() == "stun.turn");
  TurnClient c(with_alpn, "", "");
  CHECK(c.request(StunMethod::kBinding, [](StunMessageWriter&) {}) == 0);
  TlsSocket other(tls_port, alpn_wire({"http/1.1"}));
  CHECK(other.alpn().empty());  // nothing else is offered back
}
