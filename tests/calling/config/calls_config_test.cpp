#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "calling/config/calling_service.h"
#include "calling/config/calls_config.h"
#include "calling/turn/wire_turn_credentials.h"
#include "http/metrics.h"
#include "support/temp_dir.h"

using namespace wirebox;
using namespace wirebox::calling;
using Catch::Matchers::Contains;

namespace {

CallsConfigOptions three_transports() {
  CallsConfigOptions o;
  o.urls = {{TurnUrl::Kind::kUdp, "127.0.0.1", 3478},
            {TurnUrl::Kind::kTcp, "127.0.0.1", 3478},
            {TurnUrl::Kind::kTls, "127.0.0.1", 5349}};
  o.secret = "s3cret";
  o.key_index = 1;
  o.ttl_seconds = 3600;
  return o;
}

}  // namespace

TEST_CASE("calls config advertises the listeners with Wire credentials", "[calling][config]") {
  auto body = calls_config_body(three_transports(), "5c8a4d9e-0000-4000-8000-000000000001", 1'700'000'000, 0);
  REQUIRE(body["ice_servers"].size() == 1);
  const auto& server = body["ice_servers"][0];
  CHECK(server["urls"] == nlohmann::json::array({"turn:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=tcp",
                                                 "turns:127.0.0.1:5349?transport=tcp"}));
  std::string username = server["username"];
  auto parsed = turn::parse_wire_turn_username(username);
  REQUIRE(parsed);
  CHECK(parsed->expires_at == 1'700'003'600);
  CHECK(parsed->key_index == 1);
  CHECK(server["credential"] == turn::wire_turn_password("s3cret", username));
  CHECK(body["ttl"] == 3600);
  CHECK(body["is_federating"] == false);
  CHECK_FALSE(body.contains("sft_servers"));
  // Same user, same r=; another user, another r=.
  auto again = calls_config_body(three_transports(), "5c8a4d9e-0000-4000-8000-000000000001", 1'700'000'000, 0);
  auto other = calls_config_body(three_transports(), "5c8a4d9e-0000-4000-8000-000000000002", 1'700'000'000, 0);
  CHECK(again["ice_servers"][0]["username"] == username);
  CHECK(other["ice_servers"][0]["username"] != username);
}

TEST_CASE("limit takes UDP, TLS, TCP in turn", "[calling][config]") {
  auto o = three_transports();
  auto urls = [&](int limit) { return calls_config_body(o, "u", 0, limit)["ice_servers"][0]["urls"]; };
  CHECK(urls(1) == nlohmann::json::array({"turn:127.0.0.1:3478"}));
  CHECK(urls(2) == nlohmann::json::array({"turn:127.0.0.1:3478", "turns:127.0.0.1:5349?transport=tcp"}));
  CHECK(urls(3).size() == 3);
  CHECK(urls(3)[2] == "turn:127.0.0.1:3478?transport=tcp");
  CHECK(urls(10).size() == 3);
}

TEST_CASE("the HTTPS-port turns: URL is listed once that port is known, as the last TLS URL", "[calling][config]") {
  auto o = three_transports();
  auto port = std::make_shared<std::atomic<uint16_t>>(0);
  o.https_port = port;
  o.https_port_host = "box.example";
  auto urls = [&](int limit) { return calls_config_body(o, "u", 0, limit)["ice_servers"][0]["urls"]; };
  CHECK(urls(0).size() == 3);  // port 0: the server does not listen yet
  port->store(443);
  CHECK(urls(0) == nlohmann::json::array({"turn:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=tcp",
                                          "turns:127.0.0.1:5349?transport=tcp", "turns:box.example:443?transport=tcp"}));
  CHECK(urls(2) == nlohmann::json::array({"turn:127.0.0.1:3478", "turns:127.0.0.1:5349?transport=tcp"}));
  CHECK(urls(3)[2] == "turn:127.0.0.1:3478?transport=tcp");
  CHECK(urls(4)[3] == "turns:box.example:443?transport=tcp");
  CHECK(urls(10).size() == 4);
  o.urls.pop_back();  // no 5349 listener: the HTTPS port is the TLS URL limit=2 keeps
  CHECK(urls(2) == nlohmann::json::array({"turn:127.0.0.1:3478", "turns:box.example:443?transport=tcp"}));
}

TEST_CASE("TURN secrets are generated once, 0600, and read back by line", "[calling][config]") {
  test::TempDir dir;
  std::string path = dir.path() + "/turn-secret";
  auto first = load_turn_secrets(path, true);
  REQUIRE(first.ok());
  REQUIRE(first->size() == 1);
  CHECK(first->front().size() == 64);
  auto second = load_turn_secrets(path, true);
  REQUIRE(second.ok());
  CHECK(*second == *first);
  CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::group_all) ==
        std::filesystem::perms::none);
  CHECK_FALSE(load_turn_secrets(dir.path() + "/absent", false).ok());

  // Rotation: an emptied line keeps its index (deleting it shifted every later one), trailing
  // blank lines do not count.
  std::string rotated = dir.path() + "/rotated";
  {
    std::ofstream out(rotated);
    out << "\nsecond\r\nthird \n\n";
  }
  auto keys = load_turn_secrets(rotated, false);
  REQUIRE(keys.ok());
  CHECK(*keys == std::vector<std::string>{"", "second", "third"});
  {
    std::ofstream out(rotated);
    out << "\n\n";
  }
  CHECK_FALSE(load_turn_secrets(rotated, false).ok());
}

TEST_CASE("the relay's counters are in /metrics while the service runs", "[calling][config][metrics]") {
  test::TempDir dir;
  test::write_file(dir.file("turn-secret"), "s3cret\n");
  Config c;
  c.data_dir = dir.path();
  c.listen_port = 0;  // TURN listeners on free ports
  c.turn_secret_file = dir.file("turn-secret");
  c.turn_listen_tcp = "";
  c.turn_listen_tls = "";
  c.turn_loops = 1;
  auto service = CallingService::start(c, {});
  REQUIRE(service.ok());
  auto& metrics = http::Metrics::instance();
  std::string text = metrics.render();
  CHECK_THAT(text, Contains("# TYPE wirebox_turn_allocations_created_total counter\n"
                            "wirebox_turn_allocations_created_total 0\n"));
  CHECK_THAT(text, Contains("wirebox_turn_relayed_bytes_total{direction=\"to_peers\"} 0\n"
                            "wirebox_turn_relayed_bytes_total{direction=\"to_clients\"} 0\n"));
  CHECK_THAT(text, Contains("# TYPE wirebox_turn_allocations gauge\nwirebox_turn_allocations 0\n"));
  CHECK_THAT(text, Contains("# TYPE wirebox_turn_dropped_packets_total counter\n"
                            "wirebox_turn_dropped_packets_total{reason=\"malformed\"} 0\n"
                            "wirebox_turn_dropped_packets_total{reason=\"no_allocation\"} 0\n"));
  CHECK_THAT(text, Contains("wirebox_turn_dropped_packets_total{reason=\"bandwidth\"} 0\n"));

  // A datagram that is neither STUN nor ChannelData is dropped and counted by the relay's loop;
  // the scrape sees it (bounded wait: the loop counts it asynchronously).
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons((*service)->udp_port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const char junk[] = "not a TURN message";
  REQUIRE(::sendto(fd, junk, sizeof junk, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0);
  ::close(fd);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (metrics.render().find("wirebox_turn_dropped_packets_total{reason=\"malformed\"} 1\n") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_THAT(metrics.render(), Contains("wirebox_turn_dropped_packets_total{reason=\"malformed\"} 1\n"));

  // A stopped service's relay no longer counts.
  (*service)->stop();
  CHECK_THAT(metrics.render(), Contains("wirebox_turn_dropped_packets_total{reason=\"malformed\"} 0\n"));
}

TEST_CASE("the HTTPS-port turns: URL follows server.public_url when a proxy or NAT is in front", "[calling][config]") {
  Config c;
  c.listen_address = "0.0.0.0";
  c.domain = "box.internal";
  auto endpoint = [&] { return https_port_endpoint(c); };
  CHECK(endpoint().host == "box.internal");  // wildcard listen: the domain, the bound port
  CHECK(endpoint().port == 0);
  c.listen_address = "127.0.0.1";
  CHECK(endpoint().host == "127.0.0.1");

  struct Case {
    const char* public_url;
    const char* host;
    uint16_t port;
  };
  for (const Case& k : {Case{"https://chat.example.com", "chat.example.com", 443},
                        Case{"https://chat.example.com:8443/wire", "chat.example.com", 8443},
                        Case{"https://[2001:db8::1]:9443", "[2001:db8::1]", 9443},
                        Case{"https://[2001:db8::1]", "[2001:db8::1]", 443}}) {
    c.public_url = k.public_url;
    CHECK(endpoint().host == k.host);
    CHECK(endpoint().port == k.port);
  }

  c.turn_public_host = "turn.example.com";  // named explicitly: it wins, the port stays public_url's
  CHECK(endpoint().host == "turn.example.com");
  CHECK(endpoint().port == 443);
}
