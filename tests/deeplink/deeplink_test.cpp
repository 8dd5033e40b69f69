// The custom-backend deep link as the official clients read it: /deeplink.json fields, the
// wire://access link in /deeplink.html, the per-platform blacklist documents, and the public
// URL the daemon derives from its configuration.
#include <catch2/catch.hpp>

#include "apps/wireboxd/daemon.h"
#include "core/config.h"
#include "deeplink/deeplink.h"
#include "support/temp_dir.h"
#include "support/test_server.h"
#include "support/tls_client.h"

using namespace wirebox;
using Catch::Matchers::Contains;
using nlohmann::json;

TEST_CASE("deeplink.json points every endpoint at the box", "[deeplink]") {
  http::Router router;
  deeplink::register_routes(router, {"https://chat.example.com:8443", "Example Chat"});
  test::TestServer srv(router);
  test::HttpsClient c(srv.port());

  auto r = c.get("/deeplink.json");
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type") == "application/json");
  json expected = {{"endpoints",
                    {{"backendURL", "https://chat.example.com:8443"},
                     {"backendWSURL", "wss://chat.example.com:8443"},
                     {"blackListURL", "https://chat.example.com:8443/client-blacklist"},
                     {"teamsURL", "https://chat.example.com:8443"},
                     {"accountsURL", "https://chat.example.com:8443"},
                     {"websiteURL", "https://chat.example.com:8443"}}},
                   {"title", "Example Chat"}};
  CHECK(r.json() == expected);
}

TEST_CASE("the blacklist refuses no client version on android and ios", "[deeplink]") {
  http::Router router;
  deeplink::register_routes(router, {"https://chat.example.com", "chat.example.com"});
  test::TestServer srv(router);
  test::HttpsClient c(srv.port());

  // The clients append their platform to blackListURL (…/client-blacklist/android).
  std::string base = json::parse(c.get("/deeplink.json").body)["endpoints"]["blackListURL"];
  REQUIRE(base == "https://chat.example.com/client-blacklist");
  for (const char* platform : {"android", "ios"}) {
    auto r = c.get(std::string("/client-blacklist/") + platform);
    INFO(platform);
    REQUIRE(r.status == 200);
    CHECK(r.json() == json{{"oldestAccepted", 0}, {"blacklisted", json::array()}});
  }
  CHECK(c.get("/client-blacklist/windows").status == 404);
  CHECK(c.request("POST", "/deeplink.json", "{}").status == 405);
}

TEST_CASE("deeplink.html carries the percent-encoded wire://access link and escapes the title", "[deeplink]") {
  deeplink::DeeplinkOptions o{"https://chat.example.com", "<b>Team & \"Friends\"</b>"};
  CHECK(deeplink::access_link(o) == "wire://access/?config=https%3A%2F%2Fchat.example.com%2Fdeeplink.json");

  http::Router router;
  deeplink::register_routes(router, o);
  test::TestServer srv(router);
  test::HttpsClient c(srv.port());
  auto r = c.get("/deeplink.html");
  REQUIRE(r.status == 200);
  CHECK_THAT(r.header("Content-Type"), Contains("text/html"));
  CHECK_THAT(r.body, Contains("href=\"wire://access/?config=https%3A%2F%2Fchat.example.com%2Fdeeplink.json\""));
  CHECK_THAT(r.body, Contains("&lt;b&gt;Team &amp; &quot;Friends&quot;&lt;/b&gt;"));
  CHECK(r.body.find("<b>") == std::string::npos);
}

TEST_CASE("public URL: explicit, or derived from the domain and listen port", "[deeplink][config]") {
  auto load = [](std::map<std::string, std::string> o) { return load_config(std::nullopt, o); };
  auto c = load({{"server.domain", "chat.example.com"}, {"http.listen", "0.0.0.0:443"}});
  REQUIRE(c.ok());
  CHECK(public_url(*c) == "https://chat.example.com");
  c = load({{"server.domain", "chat.example.com"}, {"http.listen", "0.0.0.0:8443"}});
  REQUIRE(c.ok());
  CHECK(public_url(*c) == "https://chat.example.com:8443");
  c = load({{"server.public_url", "https://wire.example.org/"}});
  REQUIRE(c.ok());
  CHECK(public_url(*c) == "https://wire.example.org");

  for (const char* bad : {"http://chat.example.com", "chat.example.com", "https://", "https://x.org/?a=b",
                          "https://x.org/\"><script>"}) {
    INFO(bad);
    auto r = load({{"server.public_url", bad}});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("server.public_url"));
  }
}

TEST_CASE("wireboxd serves the deep link without authentication", "[deeplink][daemon]") {
  test::TempDir dir;
  auto config = load_config(std::nullopt, {{"server.data_dir", dir.path()},
                                           {"server.domain", "chat.example.com"},
                                           {"server.public_url", "https://chat.example.com"},
                                           {"http.listen", "127.0.0.1:0"},
                                           {"http.loops", "1"},
                                           {"http.workers", "1"},
                                           {"turn.enabled", "false"}});
  REQUIRE(config.ok());
  Daemon daemon(*config);
  daemon.start();
  test::HttpsClient c(daemon.port());
  auto r = c.get("/deeplink.json");
  REQUIRE(r.status == 200);
  CHECK(r.json()["endpoints"]["backendURL"] == "https://chat.example.com");
  CHECK(r.json()["title"] == "chat.example.com");  // server.title empty: the domain
  CHECK(c.get("/client-blacklist/android").status == 200);
  CHECK(c.get("/deeplink.html").status == 200);
}
