#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "core/time.h"
#include "http/metrics.h"
#include "support/test_server.h"
#include "support/tls_client.h"
#include "support/ws_client.h"
#include "websocket/hub.h"

using namespace wirebox;
using namespace std::chrono_literals;

namespace {

const std::string kAlice = "00000000-0000-4000-8000-00000000000a";
const std::string kBob = "00000000-0000-4000-8000-00000000000b";

// Tokens in these tests: "<user>" (no expiry) or "<user>:<seconds to expiry>".
void setup(http::Router& router, websocket::Hub& hub) {
  router.set_token_verifier([](std::string_view token) -> Result<http::Identity> {
    std::string t(token);
    if (t.rfind("bad", 0) == 0) return ApiError::unauthorized("Invalid access token");
    http::Identity id;
    auto colon = t.find(':');
    id.user_id = t.substr(0, colon);
    if (colon != std::string::npos) id.expires_at = now_seconds() + std::stoi(t.substr(colon + 1));
    return id;
  });
  websocket::register_routes(router, hub);
}

notifications::Delivery delivery(const std::string& user, int n, std::vector<std::string> clients = {}) {
  return {user, std::move(clients), nlohmann::json::array({{{"type", "test"}, {"n", n}}})};
}

uint64_t counter(const std::string& name) { return http::Metrics::instance().counter(name, "").value(); }

// Bounded polling for conditions the server reaches asynchronously.
template <class Pred>
bool eventually(Pred&& p, std::chrono::milliseconds timeout = 3000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!p()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// A hub served on a test server with the test tokens, for the tests that tune either.
struct HubServer {
  websocket::Hub hub;
  http::Router router;
  std::unique_ptr<test::TestServer> srv;
  explicit HubServer(websocket::HubOptions options = {},
                     http::ServerOptions server = test::TestServer::default_options())
      : hub(options) {
    setup(router, hub);
    srv = std::make_unique<test::TestServer>(router, server);
  }
  std::unique_ptr<test::WssClient> open(const std::string& user, const std::string& client) const {
    return std::make_unique<test::WssClient>(srv->port(), "/await?access_token=" + user + "&client=" + client);
  }
};

}  // namespace

TEST_CASE("hub: pushes notifications in order, answers ping with pong") {
  websocket::Hub hub;
  http::Router router;
  setup(router, hub);
  test::TestServer srv(router);
  test::WssClient ws(srv.port(), "/await?access_token=" + kAlice + "&client=c1");
  REQUIRE(eventually([&] { return hub.open_sockets() == 1; }));

  for (int i = 0; i < 20; ++i) hub.push(delivery(kAlice, i), "id-" + std::to_string(i), i == 5);
  hub.push(delivery(kBob, 99), "bob", false);
  for (int i = 0; i < 20; ++i) {
    auto f = ws.read();
    REQUIRE(f);
    auto j = nlohmann::json::parse(f->data);
    CHECK(j["id"] == "id-" + std::to_string(i));
    CHECK(j["transient"] == (i == 5));
    CHECK(j["payload"][0]["n"] == i);
    CHECK_FALSE(j.contains("type"));
  }
  ws.send_text("ping");
  auto pong = ws.read();
  REQUIRE(pong);
  CHECK(pong->data == "pong");
  CHECK_FALSE(ws.read(50ms));  // nothing of Bob's

  // Versioned path works too; closing the socket unregisters it.
  {
    test::WssClient v(srv.port(), "/v8/await?access_token=" + kAlice);
    REQUIRE(eventually([&] { return hub.open_sockets() == 2; }));
  }
  CHECK(eventually([&] { return hub.open_sockets() == 1; }));
}

TEST_CASE("hub: wrong or missing token is refused with 401, a plain GET is no upgrade") {
  websocket::Hub hub;
  http::Router router;
  setup(router, hub);
  test::TestServer srv(router);
  try {
    test::WssClient ws(srv.port(), "/await?access_token=bad&client=c1");
    FAIL("handshake succeeded");
  } catch (const test::WsHandshakeError& e) {
    CHECK(e.status == 401);
  }
  try {
    test::WssClient ws(srv.port(), "/await?client=c1");
    FAIL("handshake succeeded");
  } catch (const test::WsHandshakeError& e) {
    CHECK(e.status == 401);
  }
  test::HttpsClient c(srv.port());
  CHECK(c.get("/await?access_token=" + kAlice).status == 404);
  CHECK(hub.open_sockets() == 0);
}

TEST_CASE("hub: per-client targeting, several sockets per user") {
  websocket::Hub hub;
  http::Router router;
  setup(router, hub);
  test::TestServer srv(router);
  test::WssClient c1(srv.port(), "/await?access_token=" + kAlice + "&client=c1");
  test::WssClient c2(srv.port(), "/await?access_token=" + kAlice + "&client=c2");
  REQUIRE(eventually([&] { return hub.open_sockets() == 2; }));
  hub.push(delivery(kAlice, 1, {"c1"}), "n1", false);
  hub.push(delivery(kAlice, 2, {"c2"}), "n2", false);
  hub.push(delivery(kAlice, 3), "n3", false);
  auto a = c1.read(), b = c1.read();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(nlohmann::json::parse(a->data)["id"] == "n1");
  CHECK(nlohmann::json::parse(b->data)["id"] == "n3");
  auto x = c2.read(), y = c2.read();
  REQUIRE(x);
  REQUIRE(y);
  CHECK(nlohmann::json::parse(x->data)["id"] == "n2");
  CHECK(nlohmann::json::parse(y->data)["id"] == "n3");
}

TEST_CASE("hub: a consumer that never reads is disconnected, memory stays bounded") {
  websocket::HubOptions opt;
  opt.max_queued_frames = 16;
  websocket::Hub hub(opt);
  http::Router router;
  setup(router, hub);
  test::TestServer srv(router);
  test::WssClient slow(srv.port(), "/await?access_token=" + kAlice + "&client=c1");
  test::WssClient fast(srv.port(), "/await?access_token=" + kBob + "&client=c1");
  REQUIRE(eventually([&] { return hub.open_sockets() == 2; }));
  uint64_t before = counter("wirebox_websocket_slow_consumer_disconnects_total");
  std::string big(64 * 1024, 'x');
  notifications::Delivery d{kAlice, {}, nlohmann::json::array({{{"type", "test"}, {"blob", big}}})};
  // Loopback socket buffers take a few MB; 64 KiB frames fill them quickly.
  for (int i = 0; i < 4000 && hub.open_sockets() == 2; ++i) {
    hub.push(d, "id", false);
    if (i % 64 == 63) eventually([&] { return false; }, 2ms);  // let the loop drain
  }
  REQUIRE(eventually([&] { return hub.open_sockets() == 1; }));
  CHECK(counter("wirebox_websocket_slow_consumer_disconnects_total") == before + 1);
  // The other user's socket is unaffected.
  hub.push(delivery(kBob, 7), "b7", false);
  auto f = fast.read();
  REQUIRE(f);
  CHECK(nlohmann::json::parse(f->data)["id"] == "b7");
  CHECK(slow.wait_closed(5000ms).has_value());
}

TEST_CASE("hub: closes with 1000 when the access token expires") {
  websocket::Hub hub;
  http::Router router;
  setup(router, hub);
  test::TestServer srv(router);
  test::WssClient ws(srv.port(), "/await?access_token=" + kAlice + ":1&client=c1");
  auto code = ws.wait_closed(4000ms);
  REQUIRE(code);
  CHECK(*code == 1000);
  CHECK(eventually([&] { return hub.open_sockets() == 0; }));
}

TEST_CASE("hub: binary, oversized and garbage frames close that socket only; the hub keeps serving") {
  websocket::Hub hub;
  http::Router router;
  setup(router, hub);
  test::TestServer srv(router);
  test::WssClient good(srv.port(), "/await?access_token=" + kBob + "&client=c1");
  REQUIRE(eventually([&] { return hub.open_sockets() == 1; }));

  SECTION("binary frame: 1003") {
    test::WssClient ws(srv.port(), "/await?access_token=" + kAlice + "&client=c1");
    REQUIRE(eventually([&] { return hub.open_sockets() == 2; }));
    ws.send_binary(std::string("\x00\x01\x02ping", 7));
    CHECK(ws.wait_closed(5000ms) == 1003);
  }
  SECTION("a message over 64 KiB: 1009") {
    test::WssClient ws(srv.port(), "/await?access_token=" + kAlice + "&client=c1");
    REQUIRE(eventually([&] { return hub.open_sockets() == 2; }));
    try {
      ws.send_text(std::string(256 * 1024, 'p'));
    } catch (const std::runtime_error&) {
      // the server may close before it has read the whole frame
    }
    auto code = ws.wait_closed(5000ms);
    INFO("close code " << (code ? *code : -1));
    CHECK(code == 1009);
  }
  SECTION("an unmasked frame with a reserved opcode: 1002") {
    test::WssClient ws(srv.port(), "/await?access_token=" + kAlice + "&client=c1");
    REQUIRE(eventually([&] { return hub.open_sockets() == 2; }));
    ws.send_raw("\x8f\x05hello");  // FIN + opcode 0xF, no mask bit
    CHECK(ws.wait_closed(5000ms) == 1002);
  }
  SECTION("a frame header announcing 2^63 bytes") {
    test::WssClient ws(srv.port(), "/await?access_token=" + kAlice + "&client=c1");
    REQUIRE(eventually([&] { return hub.open_sockets() == 2; }));
    ws.send_raw(std::string("\x81\xff\x7f\xff\xff\xff\xff\xff\xff\xff\x01\x02\x03\x04", 14));
    auto code = ws.wait_closed(5000ms);
    REQUIRE(code);
    CHECK(*code != 1000);
  }
  SECTION("garbage below TLS: the connection is dropped") {
    test::WssClient ws(srv.port(), "/await?access_token=" + kAlice + "&client=c1");
    REQUIRE(eventually([&] { return hub.open_sockets() == 2; }));
    // An application-data record header and 32 bytes that no key decrypts.
    ws.send_raw_tcp(std::string("\x17\x03\x03\x00\x20", 5) + std::string(32, 'g'));
    auto code = ws.wait_closed(5000ms);
    REQUIRE(code);
    CHECK(*code != 1000);
  }
  // The bad socket is gone; the good one still gets pushes and pongs.
  REQUIRE(eventually([&] { return hub.open_sockets() == 1; }));
  hub.push(delivery(kBob, 1), "b1", false);
  auto f = good.read();
  REQUIRE(f);
  CHECK(nlohmann::json::parse(f->data)["id"] == "b1");
  good.send_text("ping");
  auto pong = good.read();
  REQUIRE(pong);
  CHECK(pong->data == "pong");
}

TEST_CASE("hub: a socket beyond max_sockets_per_user closes that user's oldest (1008)") {
  websocket::HubOptions options;
  options.max_sockets_per_user = 2;
  HubServer s(options);
  uint64_t evicted = counter("wirebox_websocket_evicted_total");
  auto first = s.open(kAlice, "c1");
  REQUIRE(eventually([&] { return s.hub.open_sockets() == 1; }));
  auto second = s.open(kAlice, "c1");
  auto bob = s.open(kBob, "b1");
  REQUIRE(eventually([&] { return s.hub.open_sockets() == 3; }));
  auto third = s.open(kAlice, "c2");
  auto code = first->wait_closed(4000ms);
  REQUIRE(code);
  CHECK(*code == 1008);
  CHECK(counter("wirebox_websocket_evicted_total") == evicted + 1);
  CHECK(eventually([&] { return s.hub.open_sockets() == 3; }));
  s.hub.push(delivery(kAlice, 1), "n1", false);
  s.hub.push(delivery(kBob, 2), "n2", false);
  for (auto* ws : {second.get(), third.get(), bob.get()}) CHECK(ws->read());
}

TEST_CASE("hub: disconnect_client closes that client's sockets after what is queued for them") {
  HubServer s;
  auto gone = s.open(kAlice, "c1");
  auto kept = s.open(kAlice, "c2");
  REQUIRE(eventually([&] { return s.hub.open_sockets() == 2; }));
  s.hub.push(delivery(kAlice, 1), "removal", false);
  s.hub.disconnect_client(kAlice, "c1");
  auto last = gone->read();
  REQUIRE(last);
  CHECK(nlohmann::json::parse(last->data)["id"] == "removal");
  auto code = gone->wait_closed(4000ms);
  REQUIRE(code);
  CHECK(*code == 1008);
  CHECK(eventually([&] { return s.hub.open_sockets() == 1; }));
  for (const char* id : {"removal", "later"}) {
    if (std::string(id) == "later") s.hub.push(delivery(kAlice, 2), "later", false);
    auto f = kept->read();
    REQUIRE(f);
    CHECK(nlohmann::json::parse(f->data)["id"] == id);
  }
}

TEST_CASE("hub: open WebSockets count against the server's max_connections") {
  auto server = test::TestServer::default_options();
  server.max_connections = 2;
  HubServer s({}, server);
  auto a = s.open(kAlice, "c1");
  auto b = s.open(kBob, "b1");
  REQUIRE(eventually([&] { return s.hub.open_sockets() == 2; }));
  // A third connection is closed at once (it used to be served: the sockets were not counted).
  bool refused = false;
  try {
    test::HttpsClient c(s.srv->port());
    refused = c.wait_closed(2000ms);
  } catch (const std::exception&) {
    refused = true;
  }
  CHECK(refused);
  a.reset();
  REQUIRE(eventually([&] { return s.hub.open_sockets() == 1; }));
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    try {
      test::HttpsClient c(s.srv->port());
      served = c.get("/await?access_token=" + kAlice).status == 404;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(20ms);
    }
  }
  CHECK(served);
}
