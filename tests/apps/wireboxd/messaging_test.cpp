// Conversations, connections and Proteus message fan-out through a real daemon over HTTPS.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "apps/wireboxd/daemon.h"
#include "core/encoding.h"
#include "messages/otr_message.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"

using namespace wirebox;
using nlohmann::json;
using test::Headers;
using test::HttpsClient;

namespace {

const std::string kDomain = "wirebox.localhost";

struct Box {
  test::TempDir dir;
  std::unique_ptr<Daemon> daemon;
  Box() {
    auto config = load_config(std::nullopt, {{"server.data_dir", dir.path()}, {"http.listen", "127.0.0.1:0"},
                                             {"http.loops", "1"}, {"http.workers", "2"},
                                             {"auth.password_scrypt_log2_n", "10"}});
    REQUIRE(config.ok());
    daemon = std::make_unique<Daemon>(config.value());
    daemon->start();
  }
};

struct User {
  std::string id, token, client;
  Headers auth() const { return {{"Authorization", "Bearer " + token}}; }
};

User make_user(HttpsClient& c, const std::string& name, const json& extra = json::object()) {
  json body = {{"name", name}, {"email", name + "@example.com"}, {"password", "secret-password"}};
  body.update(extra);
  auto r = c.post_json("/v8/register", body);
  REQUIRE(r.status == 201);
  std::string sc = r.header("Set-Cookie");
  std::string cookie = sc.substr(5, sc.find(';') - 5);
  auto access = c.request("POST", "/access", "", {{"Cookie", "zuid=" + cookie}});
  REQUIRE(access.status == 200);
  User u{r.json()["id"], access.json()["access_token"], ""};
  json client = {{"type", "permanent"}, {"class", "desktop"}, {"lastkey", {{"id", 65535}, {"key", "bGFzdA=="}}},
                 {"prekeys", {{{"id", 1}, {"key", "cHJla2V5"}}}}};
  auto cr = c.post_json("/v8/clients", client, u.auth());
  REQUIRE(cr.status == 201);
  u.client = cr.json()["id"];
  return u;
}

std::string add_client(HttpsClient& c, const User& u) {
  json client = {{"type", "permanent"}, {"class", "phone"}, {"lastkey", {{"id", 65535}, {"key", "bGFzdA=="}}},
                 {"prekeys", json::array()}, {"password", "secret-password"}};
  auto cr = c.post_json("/v8/clients", client, u.auth());
  REQUIRE(cr.status == 201);
  return cr.json()["id"];
}

json notifications_of(HttpsClient& c, const User& u, const std::string& client) {
  auto r = c.get("/v8/notifications?size=10000&client=" + client, u.auth());
  REQUIRE(r.status == 200);
  return r.json()["notifications"];
}

std::vector<json> events_of_type(const json& notifications, const std::string& type) {
  std::vector<json> out;
  for (const auto& n : notifications)
    for (const auto& e : n["payload"])
      if (e["type"] == type) out.push_back(e);
  return out;
}

std::string send(HttpsClient& c, const User& from, const std::string& conv, const messages::OtrMessage& m,
                 int expect_status) {
  auto r = c.request("POST", "/v8/conversations/" + kDomain + "/" + conv + "/proteus/messages",
                     messages::encode_otr_message(m), {{"Authorization", "Bearer " + from.token},
                                                       {"Content-Type", "application/x-protobuf"}});
  INFO(r.body);
  CHECK(r.status == expect_status);
  return r.body;
}

messages::OtrMessage to(const User& from, std::vector<std::pair<const User*, std::string>> recipients,
                        const std::string& text,
                        messages::MismatchStrategy s = messages::MismatchStrategy::kReportAll) {
  messages::OtrMessage m;
  m.sender_client = from.client;
  m.strategy = s;
  for (auto& [u, client] : recipients) m.recipients.push_back({kDomain, u->id, client, text});
  return m;
}

}  // namespace

TEST_CASE("team members create a group and exchange a message") {
  Box box;
  HttpsClient c(box.daemon->port());
  User alice = make_user(c, "alice", {{"team", {{"name", "T"}}}});
  std::string team = c.get("/v8/self", alice.auth()).json()["team"];
  // Bob joins Alice's team the way an admin would (the team store is tested on its own); here we
  // go through the personal path instead, so connect first.
  User bob = make_user(c, "bob");
  auto not_connected = c.post_json("/v8/conversations", {{"qualified_users", {{{"id", bob.id}, {"domain", kDomain}}}}},
                                   alice.auth());
  CHECK(not_connected.status == 403);
  CHECK(not_connected.json()["label"] == "not-connected");

  auto req = c.request("POST", "/v8/connections/" + kDomain + "/" + bob.id, "", alice.auth());
  REQUIRE(req.status == 201);
  CHECK(req.json()["status"] == "sent");
  CHECK(c.get("/v8/connections/" + kDomain + "/" + alice.id, bob.auth()).json()["status"] == "pending");
  auto accept = c.request("PUT", "/v8/connections/" + kDomain + "/" + alice.id, R"({"status":"accepted"})", bob.auth());
  REQUIRE(accept.status == 200);
  CHECK(accept.json()["status"] == "accepted");
  auto one2one = c.get("/v8/conversations/" + kDomain + "/" + accept.json()["conversation"].get<std::string>(),
                       alice.auth());
  REQUIRE(one2one.status == 200);
  CHECK(one2one.json()["type"] == 2);
  CHECK(one2one.json()["members"]["others"][0]["qualified_id"]["id"] == bob.id);
  CHECK(events_of_type(notifications_of(c, bob, bob.client), "user.connection").size() == 2);

  auto created = c.post_json("/v8/conversations",
                             {{"name", "Tea party"}, {"qualified_users", {{{"id", bob.id}, {"domain", kDomain}}}},
                              {"protocol", "proteus"}, {"receipt_mode", nullptr}},
                             alice.auth());
  REQUIRE(created.status == 201);
  std::string conv = created.json()["qualified_id"]["id"];
  CHECK(created.json()["members"]["self"]["conversation_role"] == "wire_admin");
  CHECK(created.json()["members"]["others"][0]["conversation_role"] == "wire_admin");
  auto bob_create = events_of_type(notifications_of(c, bob, bob.client), "conversation.create");
  REQUIRE(bob_create.size() >= 1);
  CHECK(bob_create.back()["data"]["members"]["self"]["id"] == bob.id);
  CHECK(bob_create.back()["qualified_from"]["id"] == alice.id);

  auto ids = c.post_json("/v8/conversations/list-ids", json::object(), bob.auth());
  REQUIRE(ids.status == 200);
  bool listed = false;
  json listed_ids = ids.json()["qualified_conversations"];
  for (const auto& q : listed_ids) listed = listed || q["id"] == conv;
  CHECK(listed);

  // Missing Bob's client → 412 with the missing map; nothing delivered.
  std::string status = send(c, alice, conv, to(alice, {}, "x"), 412);
  CHECK(json::parse(status)["missing"][kDomain][bob.id] == json::array({bob.client}));
  CHECK(events_of_type(notifications_of(c, bob, bob.client), "conversation.otr-message-add").empty());

  send(c, alice, conv, to(alice, {{&bob, bob.client}}, "ciphertext-for-bob"), 201);
  auto got = events_of_type(notifications_of(c, bob, bob.client), "conversation.otr-message-add");
  REQUIRE(got.size() == 1);
  CHECK(got[0]["data"]["text"] == base64_encode("ciphertext-for-bob"));
  CHECK(got[0]["data"]["sender"] == alice.client);
  CHECK(got[0]["data"]["recipient"] == bob.client);
  CHECK(got[0]["qualified_from"]["id"] == alice.id);

  // A new client of Bob's makes the next report_all send fail; ignore_all goes through.
  std::string bob2 = add_client(c, bob);
  json missing = json::parse(send(c, alice, conv, to(alice, {{&bob, bob.client}}, "y"), 412))["missing"];
  CHECK(missing[kDomain][bob.id] == json::array({bob2}));
  send(c, alice, conv, to(alice, {{&bob, bob.client}}, "y", messages::MismatchStrategy::kIgnoreAll), 201);
  send(c, alice, conv, to(alice, {{&bob, bob.client}, {&bob, bob2}}, "z"), 201);
  CHECK(events_of_type(notifications_of(c, bob, bob2), "conversation.otr-message-add").size() == 1);
  CHECK(events_of_type(notifications_of(c, bob, bob.client), "conversation.otr-message-add").size() == 3);

  // Bob is removed: he hears it, then stops receiving and cannot send.
  auto removed = c.request("DELETE", "/v8/conversations/" + kDomain + "/" + conv + "/members/" + kDomain + "/" + bob.id,
                           "", alice.auth());
  REQUIRE(removed.status == 200);
  CHECK(events_of_type(notifications_of(c, bob, bob.client), "conversation.member-leave").size() == 1);
  send(c, alice, conv, to(alice, {{&bob, bob.client}}, "after"), 201);
  CHECK(events_of_type(notifications_of(c, bob, bob.client), "conversation.otr-message-add").size() == 3);
  send(c, bob, conv, to(bob, {{&alice, alice.client}}, "let me in"), 404);
  CHECK(c.get("/v8/conversations/" + kDomain + "/" + conv, bob.auth()).status == 403);
  (void)team;
}

TEST_CASE("message sending rejects bad input") {
  Box box;
  HttpsClient c(box.daemon->port());
  User alice = make_user(c, "alice", {{"team", {{"name", "T"}}}});
  auto created = c.post_json("/v8/conversations", {{"name", "solo"}}, alice.auth());
  REQUIRE(created.status == 201);
  std::string conv = created.json()["id"];
  std::string path = "/v8/conversations/" + kDomain + "/" + conv + "/proteus/messages";
  Headers h = {{"Authorization", "Bearer " + alice.token}, {"Content-Type", "application/x-protobuf"}};
  CHECK(c.request("POST", path, "garbage \xff\xff", h).status == 400);
  messages::OtrMessage foreign = to(alice, {}, "x");
  foreign.sender_client = "123456789";  // not Alice's
  CHECK(c.request("POST", path, messages::encode_otr_message(foreign), h).status == 403);
  CHECK(c.request("POST", "/v8/conversations/" + kDomain + "/00000000-0000-4000-8000-000000000000/proteus/messages",
                  messages::encode_otr_message(to(alice, {}, "x")), h)
            .status == 404);
  User stranger = make_user(c, "stranger");
  auto redundant = json::parse(send(c, alice, conv, to(alice, {{&stranger, stranger.client}}, "psst"), 201));
  CHECK(redundant["redundant"][kDomain][stranger.id] == json::array({stranger.client}));
  CHECK(events_of_type(notifications_of(c, stranger, stranger.client), "conversation.otr-message-add").empty());
}

// kill -9 while messages are being sent: after a restart every message that got a 201 is in the
// recipient's notification stream exactly once (none lost, none duplicated).
TEST_CASE("kill -9 during sends loses no acknowledged message and duplicates none") {
  test::TempDir dir;
  std::map<std::string, std::string> overrides = {{"server.data_dir", dir.path()}, {"http.listen", "127.0.0.1:0"},
                                                  {"http.loops", "1"}, {"http.workers", "2"},
                                                  {"auth.password_scrypt_log2_n", "10"}};
  int port_pipe[2];
  REQUIRE(pipe(port_pipe) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // the daemon to kill; it never returns into the test framework
    close(port_pipe[0]);
    auto config = load_config(std::nullopt, overrides);
    if (!config) _exit(2);
    Daemon daemon(config.value());
    daemon.start();
    uint16_t port = daemon.port();
    if (write(port_pipe[1], &port, sizeof port) != sizeof port) _exit(3);
    for (;;) pause();
  }
  close(port_pipe[1]);
  uint16_t port = 0;
  pollfd pfd{port_pipe[0], POLLIN, 0};
  REQUIRE(poll(&pfd, 1, 20000) == 1);
  REQUIRE(read(port_pipe[0], &port, sizeof port) == sizeof port);
  close(port_pipe[0]);

  User alice, bob;
  std::string conv;
  {
    HttpsClient c(port);
    alice = make_user(c, "alice");
    bob = make_user(c, "bob");
    REQUIRE(c.request("POST", "/v8/connections/" + kDomain + "/" + bob.id, "", alice.auth()).status == 201);
    REQUIRE(c.request("PUT", "/v8/connections/" + kDomain + "/" + alice.id, R"({"status":"accepted"})", bob.auth())
                .status == 200);
    auto created = c.post_json("/v8/conversations", {{"qualified_users", {{{"id", bob.id}, {"domain", kDomain}}}}},
                               alice.auth());
    REQUIRE(created.status == 201);
    conv = created.json()["id"];
  }

  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    try {
      HttpsClient c(port);
      for (int i = 0; i < 5000 && !stop; ++i) {
        std::string text = "message-" + std::to_string(i);
        auto r = c.request("POST", "/v8/conversations/" + kDomain + "/" + conv + "/proteus/messages",
                           messages::encode_otr_message(to(alice, {{&bob, bob.client}}, text)),
                           {{"Authorization", "Bearer " + alice.token}, {"Content-Type", "application/x-protobuf"}});
        if (r.status != 201) break;
        std::lock_guard<std::mutex> lock(mu);
        acknowledged.push_back(text);
      }
    } catch (const std::exception&) {
      // the daemon died under us: expected
    }
  });
  for (int waited = 0; waited < 2000; ++waited) {  // bounded: at most ~20 s
    {
      std::lock_guard<std::mutex> lock(mu);
      if (acknowledged.size() >= 30) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  stop = true;
  sender.join();
  REQUIRE(acknowledged.size() >= 30);

  auto config = load_config(std::nullopt, overrides);
  REQUIRE(config.ok());
  Daemon restarted(config.value());
  restarted.start();
  HttpsClient c(restarted.port());
  std::map<std::string, int> seen;
  for (const auto& e : events_of_type(notifications_of(c, bob, bob.client), "conversation.otr-message-add"))
    seen[*base64_decode(e["data"]["text"].get<std::string>())]++;
  for (const auto& text : acknowledged) {
    INFO(text);
    CHECK(seen[text] == 1);
  }
  for (const auto& [text, count] : seen) {
    INFO(text);
    CHECK(count == 1);
  }
}
