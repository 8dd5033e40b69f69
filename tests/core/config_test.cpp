#include <map>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "core/config.h"
#include "support/temp_dir.h"

using namespace wirebox;
using Catch::Matchers::Contains;

namespace {

Result<Config> load_text(const std::string& ini, const std::map<std::string, std::string>& overrides = {}) {
  test::TempDir dir;
  std::string path = dir.file("wirebox.ini");
  test::write_file(path, ini);
  return load_config(path, overrides);
}

}  // namespace

TEST_CASE("config defaults give a working zero-config daemon", "[config]") {
  auto c = load_config(std::nullopt, {});
  REQUIRE(c.ok());
  CHECK(c->domain == "wirebox.localhost");
  CHECK(c->data_dir == "wirebox-data");
  CHECK(c->log_level == "info");
  CHECK(c->listen_address == "127.0.0.1");
  CHECK(c->listen_port == 8443);
  CHECK(c->cert_file.empty());
  CHECK(c->key_file.empty());
  CHECK(c->loops == 0);
  CHECK(c->workers == 4);
  CHECK(c->max_body_bytes == 1u << 20);
  CHECK(c->max_connections == 10000u);
  CHECK(c->idle_timeout_seconds == 60);
  CHECK(c->cors_origins.empty());
  CHECK(c->metrics_listen.empty());
  CHECK(c->registration == "open");
  CHECK(c->access_token_ttl_seconds == 900);
  CHECK(c->persistent_cookie_ttl_seconds == 4838400);
  CHECK(c->session_cookie_ttl_seconds == 86400);
  CHECK(c->cookie_renew_age_seconds == 1209600);
  CHECK(c->login_attempts_per_minute == 10);
  CHECK(c->password_scrypt_log2_n == 15);
  CHECK(c->max_permanent_clients == 7);
  CHECK(c->turn_max_allocation_kbps == 10000);
  CHECK(c->turn_max_total_mbps == 1000);
  CHECK(c->turn_stream_allocation_grace_seconds == 30);
  CHECK(c->turn_poll_interval_us == 200);
  CHECK(c->turn_tls_on_https_port);
}

TEST_CASE("every documented key is read into the Config", "[config]") {
  // A non-default valid value per key; a key that is listed but never read leaves the default.
  const std::map<std::string, std::string> values = {
      {"server.domain", "example.org"},
      {"server.data_dir", "/var/lib/wirebox-test"},
      {"server.log_level", "debug"},
      {"http.listen", "0.0.0.0:443"},
      {"http.cert", "/etc/wirebox/cert.pem"},
      {"http.key", "/etc/wirebox/key.pem"},
      {"http.loops", "3"},
      {"http.workers", "5"},
      {"http.max_body_bytes", "2048"},
      {"http.max_connections", "50"},
      {"http.idle_timeout_seconds", "7"},
      {"http.cors_origins", "https://x.example"},
      {"metrics.listen", "127.0.0.1:9100"},
      {"auth.registration", "closed"},
      {"auth.access_token_ttl_seconds", "60"},
      {"auth.persistent_cookie_ttl_seconds", "600"},
      {"auth.session_cookie_ttl_seconds", "120"},
      {"auth.cookie_renew_age_seconds", "30"},
      {"auth.login_attempts_per_minute", "3"},
      {"auth.password_scrypt_log2_n", "12"},
      {"clients.max_permanent", "2"},
      {"turn.max_allocation_kbps", "0"},
      {"turn.max_total_mbps", "250"},
      {"turn.stream_allocation_grace_seconds", "0"},
      {"turn.poll_interval_us", "0"},
      {"turn.tls_on_https_port", "false"},
  };
  std::set<std::string> documented;
  for (const auto& [k, help] : config_keys()) {
    CHECK(documented.insert(k).second);  // no duplicates
    CHECK_FALSE(help.empty());
  }
  for (const auto& [k, v] : values) {
    CAPTURE(k);
    CHECK(documented.count(k) == 1);
  }

  auto c = load_config(std::nullopt, values);
  REQUIRE(c.ok());
  CHECK(c->domain == "example.org");
  CHECK(c->data_dir == "/var/lib/wirebox-test");
  CHECK(c->log_level == "debug");
  CHECK(c->listen_address == "0.0.0.0");
  CHECK(c->listen_port == 443);
  CHECK(c->cert_file == "/etc/wirebox/cert.pem");
  CHECK(c->key_file == "/etc/wirebox/key.pem");
  CHECK(c->loops == 3);
  CHECK(c->workers == 5);
  CHECK(c->max_body_bytes == 2048u);
  CHECK(c->max_connections == 50u);
  CHECK(c->idle_timeout_seconds == 7);
  CHECK(c->cors_origins == std::vector<std::string>{"https://x.example"});
  CHECK(c->metrics_listen == "127.0.0.1:9100");
  CHECK(c->registration == "closed");
  CHECK(c->access_token_ttl_seconds == 60);
  CHECK(c->persistent_cookie_ttl_seconds == 600);
  CHECK(c->session_cookie_ttl_seconds == 120);
  CHECK(c->cookie_renew_age_seconds == 30);
  CHECK(c->login_attempts_per_minute == 3);
  CHECK(c->password_scrypt_log2_n == 12);
  CHECK(c->max_permanent_clients == 2);
  CHECK(c->turn_max_allocation_kbps == 0);
  CHECK(c->turn_max_total_mbps == 250);
  CHECK(c->turn_stream_allocation_grace_seconds == 0);
  CHECK(c->turn_poll_interval_us == 0);
  CHECK_FALSE(c->turn_tls_on_https_port);
}

TEST_CASE("config file values are layered under command-line overrides", "[config]") {
  auto c = load_text(
      "; comment\n"
      "[server]\n"
      "domain = chat.example.com\n"
      "log_level = warning\n"
      "[http]\n"
      "listen = [::1]:9443\n"
      "workers = 8\n"
      "cors_origins = https://a.example , https://b.example,,\n"
      "[auth]\n"
      "registration = closed\n",
      {{"http.workers", "2"}, {"server.log_level", "error"}});
  REQUIRE(c.ok());
  CHECK(c->domain == "chat.example.com");           // file
  CHECK(c->listen_address == "::1");                // file, IPv6
  CHECK(c->listen_port == 9443);
  CHECK(c->workers == 2);                           // override beats file
  CHECK(c->log_level == "error");                   // override beats file
  CHECK(c->registration == "closed");               // file
  CHECK(c->cors_origins == std::vector<std::string>{"https://a.example", "https://b.example"});
  CHECK(c->max_connections == 10000u);              // default
}

TEST_CASE("unknown configuration keys are rejected and named", "[config]") {
  SECTION("in the file") {
    auto c = load_text("[http]\nlisten = 127.0.0.1:1\nlsiten = 127.0.0.1:2\n");
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == 400);
    CHECK_THAT(c.error().message, Contains("http.lsiten"));
    CHECK_THAT(c.error().message, Contains("wirebox.ini"));
  }
  SECTION("a known key in the wrong section") {
    auto c = load_text("[server]\nlisten = 127.0.0.1:1\n");
    REQUIRE_FALSE(c.ok());
    CHECK_THAT(c.error().message, Contains("server.listen"));
  }
  SECTION("a key outside any section") {
    auto c = load_text("domain = example.com\n");
    REQUIRE_FALSE(c.ok());
    CHECK_THAT(c.error().message, Contains("domain"));
  }
  SECTION("in the overrides") {
    auto c = load_config(std::nullopt, {{"http.workerz", "3"}});
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == 400);
    CHECK_THAT(c.error().message, Contains("http.workerz"));
  }
}

TEST_CASE("a missing config file is an error naming it", "[config]") {
  test::TempDir dir;
  auto c = load_config(dir.file("nope.ini"), {});
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message, Contains("nope.ini"));
}

TEST_CASE("bad values are rejected with the key named", "[config]") {
  const std::pair<std::string, std::string> bad[] = {
      {"http.loops", "abc"},
      {"http.loops", "1.5"},
      {"http.loops", "-1"},
      {"http.loops", "257"},
      {"http.loops", "99999999999999999999999"},
      {"http.workers", "0"},
      {"http.workers", ""},
      {"http.max_body_bytes", "10"},
      {"http.max_connections", "0"},
      {"http.idle_timeout_seconds", "0"},
      {"auth.access_token_ttl_seconds", "5"},
      {"auth.persistent_cookie_ttl_seconds", "59"},
      {"auth.session_cookie_ttl_seconds", "x"},
      {"auth.cookie_renew_age_seconds", "-1"},
      {"auth.login_attempts_per_minute", "0"},
      {"auth.password_scrypt_log2_n", "30"},
      {"clients.max_permanent", "65"},
      {"turn.max_allocation_kbps", "-1"},
      {"turn.max_total_mbps", "100001"},
      {"turn.stream_allocation_grace_seconds", "86401"},
      {"turn.poll_interval_us", "10001"},
      {"auth.registration", "maybe"},
      {"server.log_level", "verbose"},
      {"server.domain", "localhost"},
      {"server.domain", ""},
      {"http.listen", "nope"},
      {"http.listen", "127.0.0.1"},
      {"http.listen", "127.0.0.1:"},
      {"http.listen", "127.0.0.1:70000"},
      {"http.listen", "127.0.0.1:-1"},
      {"http.listen", "127.0.0.1: 80"},
      {"http.listen", "::1"},
      {"metrics.listen", "9100"},
      {"http.cert", "/only/the/cert.pem"},
  };
  for (const auto& [key, value] : bad) {
    CAPTURE(key, value);
    auto c = load_config(std::nullopt, {{key, value}});
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == 400);
    CHECK_THAT(c.error().message, Contains(key));
  }
  SECTION("also when the bad value comes from the file") {
    auto c = load_text("[http]\nworkers = many\n");
    REQUIRE_FALSE(c.ok());
    CHECK_THAT(c.error().message, Contains("http.workers"));
  }
}

TEST_CASE("range limits are inclusive", "[config]") {
  auto c = load_config(std::nullopt, {{"http.loops", "256"},
                                      {"http.workers", "1"},
                                      {"http.max_body_bytes", "1024"},
                                      {"auth.password_scrypt_log2_n", "20"},
                                      {"clients.max_permanent", "64"},
                                      {"auth.cookie_renew_age_seconds", "0"}});
  REQUIRE(c.ok());
  CHECK(c->loops == 256);
  CHECK(c->workers == 1);
  CHECK(c->max_body_bytes == 1024u);
  CHECK(c->password_scrypt_log2_n == 20);
  CHECK(c->max_permanent_clients == 64);
  CHECK(c->cookie_renew_age_seconds == 0);
}

TEST_CASE("parse_listen splits ADDR:PORT, including bracketed IPv6", "[config]") {
  struct Ok {
    const char* in;
    const char* address;
    uint16_t port;
  };
  const Ok good[] = {
      {"127.0.0.1:8443", "127.0.0.1", 8443},
      {"0.0.0.0:0", "0.0.0.0", 0},
      {"localhost:65535", "localhost", 65535},
      {"[::1]:443", "::1", 443},
      {"[::]:8443", "::", 8443},
      {"[fe80::1%eth0]:80", "fe80::1%eth0", 80},
  };
  for (const auto& g : good) {
    CAPTURE(g.in);
    std::string address = "unchanged";
    uint16_t port = 1;
    REQUIRE(parse_listen(g.in, address, port));
    CHECK(address == g.address);
    CHECK(port == g.port);
  }
  const char* bad[] = {
      "",           "8443",         ":8443",         "127.0.0.1",    "127.0.0.1:",  "127.0.0.1:x",
      "127.0.0.1:8443x", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1: 80", "127.0.0.1:+80", "[::1]",
      "[::1]:",     "[]:80",        "::1",           "::1:8443",     "[::1:80",     "[::1]x:80",
  };
  for (const char* b : bad) {
    CAPTURE(b);
    std::string address = "unchanged";
    uint16_t port = 1;
    CHECK_FALSE(parse_listen(b, address, port));
    CHECK(address == "unchanged");
  }
}

TEST_CASE("config_values names every key once and loads back to the same configuration") {
  auto original = load_config(std::nullopt, {{"server.domain", "example.org"}, {"http.listen", "[::1]:9443"},
                                             {"http.cors_origins", "https://a.example, https://b.example"},
                                             {"turn.relay_ports", "50000-50100"}, {"admin.socket", "/run/x.sock"}});
  REQUIRE(original.ok());
  auto values = config_values(*original);
  REQUIRE(values.size() == config_keys().size());
  std::map<std::string, std::string> overrides;
  for (size_t i = 0; i < values.size(); ++i) {
    CHECK(values[i].first == config_keys()[i].first);
    overrides[values[i].first] = values[i].second;
  }
  auto reloaded = load_config(std::nullopt, overrides);
  REQUIRE(reloaded.ok());
  CHECK(config_values(*reloaded) == values);
  CHECK(overrides["http.listen"] == "[::1]:9443");
  CHECK(admin_socket_path(*reloaded) == "/run/x.sock");
  overrides["admin.socket"] = "";
  auto defaulted = load_config(std::nullopt, overrides);
  REQUIRE(defaulted.ok());
  CHECK(admin_socket_path(*defaulted) == defaulted->data_dir + "/admin.sock");
}
