// The daemon as clients see it: a real Daemon on a loopback port, driven over HTTPS. Covers the
// auth/users/clients flows end to end and, above all, bad input: each gets its 4xx and leaves
// the data unchanged.
#include <catch2/catch.hpp>

#include <set>

#include "apps/wireboxd/daemon.h"
#include "auth/token_signer.h"
#include "core/time.h"
#include "http/gzip.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"
#include "support/ws_client.h"

using namespace wirebox;
using nlohmann::json;
using test::Headers;
using test::HttpsClient;

namespace {

struct Box {
  test::TempDir dir;
  std::unique_ptr<Daemon> daemon;

  explicit Box(std::map<std::string, std::string> overrides = {}) {
    if (!overrides.count("server.data_dir")) overrides["server.data_dir"] = dir.path();
    overrides["http.listen"] = "127.0.0.1:0";
    overrides["http.loops"] = "1";
    overrides["http.workers"] = "2";
    overrides["auth.password_scrypt_log2_n"] = "10";
    if (!overrides.count("http.max_body_bytes")) overrides["http.max_body_bytes"] = "65536";
    auto config = load_config(std::nullopt, overrides);
    REQUIRE(config.ok());
    daemon = std::make_unique<Daemon>(config.value());
    daemon->start();
  }
  uint16_t port() const { return daemon->port(); }
};

struct Account {
  std::string id;
  std::string cookie;
  std::string token;
  Headers auth() const { return {{"Authorization", "Bearer " + token}}; }
};

std::string zuid_from(const test::HttpResponse& r) {
  std::string sc = r.header("Set-Cookie");
  auto start = sc.find("zuid=");
  if (start == std::string::npos) return "";
  return sc.substr(start + 5, sc.find(';') - start - 5);
}

Account register_user(HttpsClient& c, const std::string& name, const json& extra = json::object()) {
  json body = {{"name", name}, {"email", name + "@example.com"}, {"password", "secret-password"}};
  body.update(extra);
  auto r = c.post_json("/v8/register", body);
  REQUIRE(r.status == 201);
  Account a{r.json()["id"], zuid_from(r), ""};
  auto access = c.request("POST", "/access", "", {{"Cookie", "zuid=" + a.cookie}});
  REQUIRE(access.status == 200);
  a.token = access.json()["access_token"];
  return a;
}

json client_body(int first_prekey, int count) {
  json prekeys = json::array();
  for (int i = 0; i < count; ++i) prekeys.push_back({{"id", first_prekey + i}, {"key", "cHJla2V5"}});
  return {{"type", "permanent"}, {"class", "desktop"}, {"lastkey", {{"id", 65535}, {"key", "bGFzdA=="}}},
          {"prekeys", prekeys}, {"password", "secret-password"}};
}

void check_error(const test::HttpResponse& r, int status, const std::string& label = "") {
  INFO(r.body);
  CHECK(r.status == status);
  json j = r.json();
  CHECK(j["code"] == status);
  CHECK(j["label"].is_string());
  CHECK(j["message"].is_string());
  if (!label.empty()) CHECK(j["label"] == label);
}

}  // namespace

TEST_CASE("register, access, self, login and logout") {
  Box box;
  HttpsClient c(box.port());
  CHECK(c.get("/v8/self").status == 401);  // the client registers, then expects exactly this
  Account a = register_user(c, "alice", {{"team", {{"name", "Wonderland"}}}});
  auto self = c.get("/v8/self", a.auth());
  REQUIRE(self.status == 200);
  CHECK(self.json()["qualified_id"]["domain"] == "wirebox.localhost");
  CHECK(self.json()["email"] == "alice@example.com");
  std::string team = self.json()["team"];
  auto teams = c.get("/v8/teams", a.auth());
  CHECK(teams.json()["teams"][0]["id"] == team);
  CHECK(c.get("/v8/teams/" + team + "/members", a.auth()).json()["members"][0]["permissions"]["self"] == 8191);

  auto login = c.post_json("/v8/login?persist=true", {{"email", "ALICE@example.com"}, {"password", "secret-password"}});
  REQUIRE(login.status == 200);
  CHECK(login.header("Set-Cookie").find("Expires=") != std::string::npos);
  CHECK(login.json()["expires_in"] == 900);
  std::string cookie = zuid_from(login);
  auto session = c.post_json("/v8/login", {{"email", "alice@example.com"}, {"password", "secret-password"}});
  CHECK(session.header("Set-Cookie").find("Expires=") == std::string::npos);

  REQUIRE(c.request("POST", "/access/logout", "", {{"Cookie", "zuid=" + cookie}}).status == 200);
  check_error(c.request("POST", "/access", "", {{"Cookie", "zuid=" + cookie}}), 403, "invalid-credentials");
  CHECK(c.request("POST", "/access", "", {{"Cookie", "zuid=" + a.cookie}}).status == 200);  // other sessions live
}

TEST_CASE("wrong passwords and cookies give 403 with the texts the client maps") {
  Box box;
  HttpsClient c(box.port());
  register_user(c, "bob");
  auto r = c.post_json("/v8/login", {{"email", "bob@example.com"}, {"password", "wrong-password"}});
  check_error(r, 403, "invalid-credentials");
  CHECK(r.json()["message"] == "Authentication failed.");
  check_error(c.post_json("/v8/login", {{"email", "nobody@example.com"}, {"password", "x"}}), 403,
              "invalid-credentials");
  auto no_cookie = c.request("POST", "/access");
  check_error(no_cookie, 403, "invalid-credentials");  // never 401 on /access: the client would loop
  CHECK(no_cookie.json()["message"] == "Missing cookie");
  check_error(c.request("POST", "/access", "", {{"Cookie", "zuid=forged"}}), 403, "invalid-credentials");
}

TEST_CASE("expired and forged tokens get 401") {
  Box box;
  HttpsClient c(box.port());
  Account a = register_user(c, "carol");
  auto signer = auth::TokenSigner::load_or_create(box.dir.file("secrets/token-signing.pem"));
  REQUIRE(signer.ok());
  std::string expired = signer.value()->sign({a.id, "", now_seconds() - 1});
  check_error(c.get("/v8/self", {{"Authorization", "Bearer " + expired}}), 401);
  std::string forged = auth::TokenSigner::generate()->sign({a.id, "", now_seconds() + 600});
  check_error(c.get("/v8/self", {{"Authorization", "Bearer " + forged}}), 401);
  check_error(c.get("/v8/self", {{"Authorization", "Bearer garbage"}}), 401);
  CHECK(c.get("/v8/self?access_token=" + a.token).status == 200);  // the WebSocket's way
}

TEST_CASE("bad input is rejected with 4xx and writes nothing") {
  Box box;
  HttpsClient c(box.port());
  SECTION("registration") {
    check_error(c.request("POST", "/v8/register", "{\"name\": \"x\", "), 400, "bad-request");
    check_error(c.request("POST", "/v8/register", "[1,2]"), 400);
    check_error(c.post_json("/v8/register", {{"name", 5}, {"email", "d@example.com"}, {"password", "secret-password"}}),
                400);
    check_error(c.post_json("/v8/register", {{"name", "d"}, {"email", "d@example.com"}, {"password", "short"}}), 400);
    check_error(c.post_json("/v8/register", {{"name", "d"}, {"email", "not-an-email"}, {"password", "secret-password"}}),
                400);
    check_error(c.post_json("/v8/register", {{"name", "d"}, {"email", "d@example.com"}, {"password", "secret-password"},
                                            {"team", "not-an-object"}}),
                400);
    check_error(c.request("POST", "/v8/register", std::string(70000, ' ')), 413);
    c.reconnect();  // the server closes after refusing a body it did not read
    // None of the above created the account.
    register_user(c, "d");
    check_error(c.post_json("/v8/register", {{"name", "d"}, {"email", "D@example.com"}, {"password", "secret-password"}}),
                409, "key-exists");
  }
  SECTION("gzip bodies: accepted, and the limit applies after decompression") {
    json body = {{"name", "eve"}, {"email", "eve@example.com"}, {"password", "secret-password"}};
    auto ok = c.request("POST", "/v8/register", http::gzip(body.dump()),
                        {{"Content-Encoding", "gzip"}, {"Content-Type", "application/json"}});
    CHECK(ok.status == 201);
    std::string bomb = http::gzip("{\"name\":\"" + std::string(1 << 20, 'a') + "\"}");
    REQUIRE(bomb.size() < 65536);
    check_error(c.request("POST", "/v8/register", bomb, {{"Content-Encoding", "gzip"}}), 413);
    c.reconnect();
    check_error(c.request("POST", "/v8/register", "not gzip at all", {{"Content-Encoding", "gzip"}}), 400);
  }
  SECTION("ids in paths") {
    Account a = register_user(c, "frank");
    check_error(c.get("/v8/users/wirebox.localhost/not-a-uuid", a.auth()), 400);
    check_error(c.get("/v8/users/wirebox.localhost/00000000-0000-4000-8000-000000000000", a.auth()), 404, "not-found");
    check_error(c.get("/v8/users/other.example/" + a.id, a.auth()), 404);
    check_error(c.request("POST", "/access?client_id=NOT-HEX", "", {{"Cookie", "zuid=" + a.cookie}}), 400);
    check_error(c.request("POST", "/access?client_id=abc", "", {{"Cookie", "zuid=" + a.cookie}}), 403);
  }
  SECTION("clients") {
    Account a = register_user(c, "gina");
    json bad_last = client_body(0, 2);
    bad_last["lastkey"]["id"] = 7;
    check_error(c.post_json("/v8/clients", bad_last, a.auth()), 400);
    json bad_key = client_body(0, 2);
    bad_key["prekeys"][1]["key"] = "***";
    check_error(c.post_json("/v8/clients", bad_key, a.auth()), 400);
    json dup = client_body(0, 2);
    dup["prekeys"][1]["id"] = 0;
    check_error(c.post_json("/v8/clients", dup, a.auth()), 400);
    json long_key = client_body(0, 2);
    long_key["prekeys"][1]["key"] = std::string(1028, 'A');  // valid base64, longer than any prekey
    check_error(c.post_json("/v8/clients", long_key, a.auth()), 400);
    json bad_type = client_body(0, 2);
    bad_type["type"] = "legalhold";
    check_error(c.post_json("/v8/clients", bad_type, a.auth()), 400);
    check_error(c.post_json("/v8/clients", {{"type", "permanent"}}, a.auth()), 400);
    CHECK(c.get("/v8/clients", a.auth()).json().empty());
  }
  SECTION("unknown endpoints and methods") {
    check_error(c.get("/v8/no/such/thing"), 404);
    check_error(c.request("DELETE", "/api-version"), 405);
  }
}

TEST_CASE("clients: first without password, then password required; prekeys claimed once") {
  Box box;
  HttpsClient c(box.port());
  Account a = register_user(c, "hank");
  Account b = register_user(c, "ivy");
  json first = client_body(0, 3);
  first.erase("password");
  auto created = c.post_json("/v8/clients", first, a.auth());
  REQUIRE(created.status == 201);
  std::string cid = created.json()["id"];
  CHECK(created.json()["capabilities"].is_array());

  // The new client can read its own user.client-add right away (core requires it).
  auto last = c.get("/v8/notifications/last?client=" + cid, a.auth());
  REQUIRE(last.status == 200);
  CHECK(last.json()["payload"][0]["type"] == "user.client-add");
  CHECK(last.json()["payload"][0]["client"]["id"] == cid);

  json second = client_body(0, 1);
  second.erase("password");
  check_error(c.post_json("/v8/clients", second, a.auth()), 403, "missing-auth");
  second["password"] = "wrong-password";
  check_error(c.post_json("/v8/clients", second, a.auth()), 403, "invalid-credentials");
  CHECK(c.get("/v8/clients", a.auth()).json().size() == 1);

  std::set<int> ids;
  json request = {{"wirebox.localhost", {{a.id, {cid}}}}};
  for (int i = 0; i < 5; ++i) {
    auto r = c.post_json("/v8/users/list-prekeys", request, b.auth());
    REQUIRE(r.status == 200);
    int id = r.json()["qualified_user_client_prekeys"]["wirebox.localhost"][a.id][cid]["id"];
    if (i < 3) CHECK(ids.insert(id).second);
    else CHECK(id == 65535);
  }
  CHECK(c.get("/v8/clients/" + cid + "/prekeys", a.auth()).json() == json::array({65535}));

  auto bound = c.request("POST", "/access?client_id=" + cid, "", {{"Cookie", "zuid=" + a.cookie}});
  REQUIRE(bound.status == 200);
  // The device's notification socket: it hears of its own removal, then is closed.
  test::WssClient device(box.port(), "/v8/await?access_token=" + bound.json()["access_token"].get<std::string>() +
                                         "&client=" + cid);

  check_error(c.request("DELETE", "/v8/clients/" + cid, "{}", a.auth()), 403, "missing-auth");
  CHECK(c.request("DELETE", "/v8/clients/" + cid, R"({"password":"secret-password"})", a.auth()).status == 200);
  bool heard = false;
  while (auto frame = device.read(std::chrono::milliseconds(3000))) {
    if (json::parse(frame->data)["payload"][0]["type"] == "user.client-remove") {
      heard = true;
      break;
    }
  }
  CHECK(heard);
  auto closed = device.wait_closed(std::chrono::milliseconds(3000));
  REQUIRE(closed);
  CHECK(*closed == 1008);
  CHECK(c.get("/v8/clients", a.auth()).json().empty());
  // The cookie that device was bound to is revoked with it.
  CHECK(c.request("POST", "/access", "", {{"Cookie", "zuid=" + a.cookie}}).status == 403);
  CHECK(c.get("/v8/notifications/last", a.auth()).json()["payload"][0]["type"] == "user.client-remove");
}

TEST_CASE("reserved handles (admin, support, wire, ...) count as taken") {
  Box box;
  HttpsClient c(box.port());
  Account a = register_user(c, "handy");
  check_error(c.request("PUT", "/v8/self/handle", R"({"handle":"admin"})", a.auth()), 409, "handle-exists");
  CHECK(c.request("HEAD", "/v8/handles/support", "", a.auth()).status == 200);
  CHECK(c.request("HEAD", "/v8/handles/handy-free", "", a.auth()).status == 404);
  auto free = c.post_json("/v8/handles", {{"handles", {"wire", "handy-free"}}, {"return", 2}}, a.auth());
  REQUIRE(free.status == 200);
  CHECK(free.json() == json::array({"handy-free"}));
  CHECK(c.request("PUT", "/v8/self/handle", R"({"handle":"handy-free"})", a.auth()).status == 200);
}

TEST_CASE("registrations are rate limited per client address") {
  Box box(std::map<std::string, std::string>{{"auth.registrations_per_minute", "3"}});
  HttpsClient c(box.port());
  register_user(c, "ann");
  // Refused attempts count too: the limit is on calls, before anything is checked or hashed.
  CHECK(c.post_json("/v8/register", {{"name", "x"}, {"email", "not-an-email"}, {"password", "secret-password"}}).status == 400);
  register_user(c, "ben");
  auto r = c.post_json("/v8/register", {{"name", "cat"}, {"email", "cat@example.com"}, {"password", "secret-password"}});
  check_error(r, 429, "client-error");
  // Logins are limited apart from registrations.
  CHECK(c.post_json("/v8/login", {{"email", "ann@example.com"}, {"password", "secret-password"}}).status == 200);
}

TEST_CASE("login attempts are rate limited per account") {
  Box box(std::map<std::string, std::string>{{"auth.login_attempts_per_minute", "3"}});
  HttpsClient c(box.port());
  register_user(c, "jack");
  for (int i = 0; i < 3; ++i)
    CHECK(c.post_json("/v8/login", {{"email", "jack@example.com"}, {"password", "wrong-password"}}).status == 403);
  check_error(c.post_json("/v8/login", {{"email", "jack@example.com"}, {"password", "wrong-password"}}), 429);
  // Once used up, the right password is refused too (it used to get in: the limit only told
  // a guesser which guesses were wrong), and logging in by handle counts for the same account.
  check_error(c.post_json("/v8/login", {{"email", "jack@example.com"}, {"password", "secret-password"}}), 429);
  Account kim = register_user(c, "kim");
  REQUIRE(c.request("PUT", "/v8/self/handle", R"({"handle":"kim"})", kim.auth()).status == 200);
  for (int i = 0; i < 2; ++i)
    CHECK(c.post_json("/v8/login", {{"email", "kim@example.com"}, {"password", "wrong-password"}}).status == 403);
  CHECK(c.post_json("/v8/login", {{"handle", "kim"}, {"password", "wrong-password"}}).status == 403);
  check_error(c.post_json("/v8/login", {{"handle", "kim"}, {"password", "secret-password"}}), 429);

  // Re-authentication when adding or deleting a client is limited the same way.
  Account lea = register_user(c, "lea");
  json first = client_body(0, 1);
  first.erase("password");
  REQUIRE(c.post_json("/v8/clients", first, lea.auth()).status == 201);
  json second = client_body(0, 1);
  second["password"] = "wrong-password";
  for (int i = 0; i < 3; ++i) check_error(c.post_json("/v8/clients", second, lea.auth()), 403, "invalid-credentials");
  second["password"] = "secret-password";
  check_error(c.post_json("/v8/clients", second, lea.auth()), 429);
}

TEST_CASE("JSON nested deeper than 64 levels is refused, not parsed into a crash") {
  Box box(std::map<std::string, std::string>{{"http.max_body_bytes", "400000"}});
  HttpsClient c(box.port());
  Account a = register_user(c, "nina");
  auto nested = [](int depth, const std::string& inner = "") {
    return std::string(static_cast<size_t>(depth), '[') + inner + std::string(static_cast<size_t>(depth), ']');
  };
  // 150,000 levels used to overflow the stack when the value was written back (the process died).
  check_error(c.request("PUT", "/v8/properties/deep", nested(150000), a.auth()), 400);
  check_error(c.request("POST", "/v8/list-users",
                        R"({"qualified_ids":[{"id":"00000000-0000-4000-8000-000000000000","domain":"elsewhere.example","x":)" +
                            nested(150000) + "}]}",
                        a.auth()),
              400);
  CHECK(c.request("PUT", "/v8/properties/ok", nested(63, "\"[[[ in a string\""), a.auth()).status == 200);
  CHECK(c.get("/v8/properties/ok", a.auth()).status == 200);
  check_error(c.request("PUT", "/v8/properties/ok", nested(65), a.auth()), 400);
  // A foreign id is answered with its id and domain only, not the caller's whole entry.
  auto listed = c.request("POST", "/v8/list-users",
                          R"({"qualified_ids":[{"id":"00000000-0000-4000-8000-000000000000","domain":"elsewhere.example","x":1}]})",
                          a.auth());
  REQUIRE(listed.status == 200);
  CHECK(listed.json()["failed"] ==
        json::parse(R"([{"id":"00000000-0000-4000-8000-000000000000","domain":"elsewhere.example"}])"));
}

TEST_CASE("closed registration refuses POST /register") {
  Box box(std::map<std::string, std::string>{{"auth.registration", "closed"}});
  HttpsClient c(box.port());
  check_error(c.post_json("/v8/register", {{"name", "k"}, {"email", "k@example.com"}, {"password", "secret-password"}}),
              403, "registration-disabled");
}

TEST_CASE("state survives a restart: accounts, cookies and the signing key") {
  test::TempDir keep;
  std::string cookie, token;
  auto make = [&] {
    auto config = load_config(std::nullopt, {{"server.data_dir", keep.path()}, {"http.listen", "127.0.0.1:0"},
                                             {"http.loops", "1"}, {"auth.password_scrypt_log2_n", "10"}});
    REQUIRE(config.ok());
    auto d = std::make_unique<Daemon>(config.value());
    d->start();
    return d;
  };
  {
    auto d = make();
    HttpsClient c(d->port());
    Account a = register_user(c, "lena");
    cookie = a.cookie;
    token = a.token;
    d->stop();
  }
  auto d = make();
  HttpsClient c(d->port());
  CHECK(c.get("/v8/self", {{"Authorization", "Bearer " + token}}).status == 200);
  CHECK(c.request("POST", "/access", "", {{"Cookie", "zuid=" + cookie}}).status == 200);
}
