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

#include "admin/admin_client.h"
#include "apps/wireboxd/daemon.h"
#include "core/encoding.h"
#include "messages/otr_message.h"
#include "support/temp_dir.h"
#include "teams/team_store.h"
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
  explicit Box(std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> overrides = {{"server.data_dir", dir.path()}, {"http.listen", "127.0.0.1:0"},
                                                    {"http.loops", "1"}, {"http.workers", "2"},
                                                    {"auth.password_scrypt_log2_n", "10"}};
    overrides.insert(extra.begin(), extra.end());
    auto config = load_config(std::nullopt, overrides);
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

TEST_CASE("connected personal users create a group and exchange a message") {
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

  // Alice's second client, addressed under another domain, is missing (412, reported under that
  // domain as redundant): this backend delivers nothing there (it used to be a silent 201).
  std::string other = add_client(c, alice);
  messages::OtrMessage elsewhere = to(alice, {}, "x");
  elsewhere.recipients.push_back({"evil.example", alice.id, other, "x"});
  auto mismatch = json::parse(send(c, alice, conv, elsewhere, 412));
  CHECK(mismatch["missing"][kDomain][alice.id] == json::array({other}));
  CHECK(mismatch["redundant"]["evil.example"][alice.id] == json::array({other}));

  // A client named many times gets the message once (each mention used to store a copy: one
  // small body could store thousands of notifications).
  std::string second = other;
  messages::OtrMessage repeated = to(alice, {}, "x", messages::MismatchStrategy::kIgnoreAll);
  for (int i = 0; i < 500; ++i) repeated.recipients.push_back({kDomain, alice.id, second, "copy " + std::to_string(i)});
  send(c, alice, conv, repeated, 201);
  auto got = events_of_type(notifications_of(c, alice, second), "conversation.otr-message-add");
  REQUIRE(got.size() == 1);
  CHECK(got[0]["data"]["text"] == base64_encode("copy 0"));

  // An entry under another domain is never what a local client receives, even listed first.
  messages::OtrMessage both = to(alice, {}, "x", messages::MismatchStrategy::kIgnoreAll);
  both.recipients.push_back({"evil.example", alice.id, second, "foreign"});
  both.recipients.push_back({kDomain, alice.id, second, "local"});
  send(c, alice, conv, both, 201);
  got = events_of_type(notifications_of(c, alice, second), "conversation.otr-message-add");
  REQUIRE(got.size() == 2);
  CHECK(got[1]["data"]["text"] == base64_encode("local"));
}

// Connects a and b (a asks, b accepts).
void connect(HttpsClient& c, const User& a, const User& b) {
  REQUIRE(c.request("POST", "/v8/connections/" + kDomain + "/" + b.id, "", a.auth()).status == 201);
  REQUIRE(c.request("PUT", "/v8/connections/" + kDomain + "/" + a.id, R"({"status":"accepted"})", b.auth()).status ==
          200);
}

json qid(const User& u) { return {{"id", u.id}, {"domain", kDomain}}; }

TEST_CASE("connections need both users: a block holds, and unblocking does not accept for the other side") {
  Box box;
  HttpsClient c(box.daemon->port());
  User a = make_user(c, "a"), b = make_user(c, "b"), cu = make_user(c, "c"), d = make_user(c, "d");
  auto conn = [&](const User& from, const User& to) {
    return c.get("/v8/connections/" + kDomain + "/" + to.id, from.auth()).json()["status"].get<std::string>();
  };
  auto put = [&](const User& from, const User& to, const std::string& status) {
    return c.request("PUT", "/v8/connections/" + kDomain + "/" + to.id, json({{"status", status}}).dump(), from.auth());
  };
  auto group_with = [&](const User& creator, const User& other) {
    return c.post_json("/v8/conversations", {{"name", "g"}, {"qualified_users", json::array({qid(other)})}},
                       creator.auth())
        .status;
  };

  // A asks B, blocks B, then "accepts": A's request stands again, B has said nothing yet (this
  // used to connect them both).
  REQUIRE(c.request("POST", "/v8/connections/" + kDomain + "/" + b.id, "", a.auth()).status == 201);
  REQUIRE(put(a, b, "blocked").status == 200);
  REQUIRE(put(a, b, "accepted").status == 200);
  CHECK(conn(a, b) == "sent");
  CHECK(conn(b, a) == "pending");
  CHECK(group_with(a, b) == 403);

  // C asks B and B blocks C: C withdrawing and asking again does not lift B's block.
  REQUIRE(c.request("POST", "/v8/connections/" + kDomain + "/" + b.id, "", cu.auth()).status == 201);
  REQUIRE(put(b, cu, "blocked").status == 200);
  REQUIRE(put(cu, b, "cancelled").status == 200);
  CHECK(conn(b, cu) == "blocked");
  c.request("POST", "/v8/connections/" + kDomain + "/" + b.id, "", cu.auth());
  CHECK(conn(b, cu) == "blocked");

  // A and D are connected; D blocks A: A can no longer add D to groups, and what A sends to
  // their 1:1 conversation no longer reaches D.
  connect(c, a, d);
  std::string one2one = c.get("/v8/connections/" + kDomain + "/" + d.id, a.auth()).json()["conversation"];
  REQUIRE(group_with(a, d) == 201);
  REQUIRE(put(d, a, "blocked").status == 200);
  CHECK(conn(a, d) == "accepted");
  CHECK(group_with(a, d) == 403);
  send(c, a, one2one, to(a, {{&d, d.client}}, "are you there?", messages::MismatchStrategy::kIgnoreAll), 201);
  auto got = events_of_type(notifications_of(c, d, d.client), "conversation.otr-message-add");
  for (const auto& e : got) CHECK(e["data"]["text"] != base64_encode("are you there?"));
  // D unblocks: A had accepted, so they are connected again, both in the 1:1.
  REQUIRE(put(d, a, "accepted").status == 200);
  CHECK(conn(d, a) == "accepted");
  CHECK(group_with(a, d) == 201);
  send(c, a, one2one, to(a, {{&d, d.client}}, "hello again"), 201);
  got = events_of_type(notifications_of(c, d, d.client), "conversation.otr-message-add");
  REQUIRE_FALSE(got.empty());
  CHECK(got.back()["data"]["text"] == base64_encode("hello again"));
}

TEST_CASE("receipt mode, message timer and access updates: admins only, events to every member") {
  Box box;
  HttpsClient c(box.daemon->port());
  User alice = make_user(c, "alice");
  User bob = make_user(c, "bob");
  connect(c, alice, bob);
  auto created = c.post_json("/v8/conversations",
                             {{"name", "settings"}, {"qualified_users", {qid(bob)}}, {"conversation_role", "wire_member"}},
                             alice.auth());
  REQUIRE(created.status == 201);
  const std::string conv = created.json()["id"];
  const std::string base = "/v8/conversations/" + kDomain + "/" + conv;
  auto latest = [&](const std::string& type) {
    auto events = events_of_type(notifications_of(c, bob, bob.client), type);
    REQUIRE(!events.empty());
    return events.back();
  };

  SECTION("receipt mode") {
    auto r = c.request("PUT", base + "/receipt-mode", R"({"receipt_mode":1})", alice.auth());
    REQUIRE(r.status == 200);
    CHECK(r.json()["type"] == "conversation.receipt-mode-update");
    CHECK(r.json()["data"] == json{{"receipt_mode", 1}});
    CHECK(r.json()["qualified_conversation"]["id"] == conv);
    CHECK(r.json()["qualified_from"]["id"] == alice.id);
    json event = latest("conversation.receipt-mode-update");
    CHECK(event["data"]["receipt_mode"] == 1);
    CHECK(event["from"] == alice.id);
    CHECK(c.get(base, bob.auth()).json()["receipt_mode"] == 1);
    // Unchanged: 204 and no second event.
    CHECK(c.request("PUT", base + "/receipt-mode", R"({"receipt_mode":1})", alice.auth()).status == 204);
    CHECK(events_of_type(notifications_of(c, bob, bob.client), "conversation.receipt-mode-update").size() == 1);
    // A wire_member may not; bad bodies are 400.
    auto denied = c.request("PUT", base + "/receipt-mode", R"({"receipt_mode":0})", bob.auth());
    CHECK(denied.status == 403);
    CHECK(denied.json()["label"] == "action-denied");
    CHECK(c.request("PUT", base + "/receipt-mode", R"({"receipt_mode":"on"})", alice.auth()).status == 400);
    CHECK(c.request("PUT", base + "/receipt-mode", R"({})", alice.auth()).status == 400);
    CHECK(c.request("PUT", base + "/receipt-mode", R"({"receipt_mode":4294967296})", alice.auth()).status == 400);
    CHECK(c.get(base, alice.auth()).json()["receipt_mode"] == 1);
  }

  SECTION("message timer") {
    auto r = c.request("PUT", base + "/message-timer", R"({"message_timer":86400000})", alice.auth());
    REQUIRE(r.status == 200);
    CHECK(r.json()["type"] == "conversation.message-timer-update");
    CHECK(latest("conversation.message-timer-update")["data"] == json{{"message_timer", 86400000}});
    CHECK(c.get(base, bob.auth()).json()["message_timer"] == 86400000);
    auto off = c.request("PUT", base + "/message-timer", R"({"message_timer":null})", alice.auth());
    REQUIRE(off.status == 200);
    CHECK(latest("conversation.message-timer-update")["data"] == json{{"message_timer", nullptr}});
    CHECK(c.get(base, bob.auth()).json()["message_timer"].is_null());
    CHECK(c.request("PUT", base + "/message-timer", R"({"message_timer":null})", alice.auth()).status == 204);
    CHECK(c.request("PUT", base + "/message-timer", R"({"message_timer":-5})", alice.auth()).status == 400);
    CHECK(c.request("PUT", base + "/message-timer", R"({"message_timer":1000})", bob.auth()).status == 403);
  }

  SECTION("access") {
    auto r = c.request("PUT", base + "/access",
                       R"({"access":["invite","code"],"access_role":["team_member","non_team_member","service"]})",
                       alice.auth());
    REQUIRE(r.status == 200);
    CHECK(r.json()["type"] == "conversation.access-update");
    json data = latest("conversation.access-update")["data"];
    CHECK(data["access"] == json::array({"code", "invite"}));
    CHECK(data["access_role_v2"] == json::array({"non_team_member", "service", "team_member"}));
    CHECK(data["access_role"] == "activated");
    json got = c.get(base, bob.auth()).json();
    CHECK(got["access"] == json::array({"code", "invite"}));
    CHECK(got["access_role"] == json::array({"non_team_member", "service", "team_member"}));
    // The same sets in another order are no change.
    CHECK(c.request("PUT", base + "/access",
                    R"({"access":["code","invite"],"access_role":["service","team_member","non_team_member"]})",
                    alice.auth())
              .status == 204);
    // API v2 clients send the legacy string with access_role_v2; the set wins.
    auto v2 = c.request("PUT", base + "/access",
                        R"({"access":["invite"],"access_role":"activated","access_role_v2":["team_member","guest"]})",
                        alice.auth());
    REQUIRE(v2.status == 200);
    CHECK(v2.json()["data"]["access_role_v2"] == json::array({"guest", "team_member"}));
    CHECK(v2.json()["data"]["access_role"] == "non_activated");
    auto legacy = c.request("PUT", base + "/access", R"({"access":["invite"],"access_role":"team"})", alice.auth());
    REQUIRE(legacy.status == 200);
    CHECK(legacy.json()["data"]["access_role_v2"] == json::array({"team_member"}));
    CHECK(legacy.json()["data"]["access_role"] == "team");
    // Private access and an empty role set are refused; unknown values are 400; members may not.
    CHECK(c.request("PUT", base + "/access", R"({"access":["private"],"access_role":["team_member"]})", alice.auth())
              .json()["label"] == "invalid-op");
    CHECK(c.request("PUT", base + "/access", R"({"access":["invite"],"access_role":[]})", alice.auth()).status == 403);
    CHECK(c.request("PUT", base + "/access", R"({"access":["everyone"],"access_role":["guest"]})", alice.auth())
              .status == 400);
    CHECK(c.request("PUT", base + "/access", R"({"access":["invite"],"access_role":["robots"]})", alice.auth())
              .status == 400);
    CHECK(c.request("PUT", base + "/access", R"({"access":["invite"]})", alice.auth()).status == 400);
    CHECK(c.request("PUT", base + "/access", R"({"access":["invite"],"access_role":["guest"]})", bob.auth()).status ==
          403);
    CHECK(c.get(base, alice.auth()).json()["access_role"] == json::array({"team_member"}));
  }

  SECTION("member roles: admins change other members' roles, in groups only") {
    const std::string bob_path = base + "/members/" + kDomain + "/" + bob.id;
    const std::string alice_path = base + "/members/" + kDomain + "/" + alice.id;
    auto denied = c.request("PUT", alice_path, R"({"conversation_role":"wire_member"})", bob.auth());
    CHECK(denied.status == 403);
    CHECK(denied.json()["label"] == "action-denied");
    // Nobody changes their own role this way, admins neither (wire-server: InvalidTarget).
    auto own = c.request("PUT", alice_path, R"({"conversation_role":"wire_member"})", alice.auth());
    CHECK(own.status == 403);
    CHECK(own.json()["label"] == "invalid-op");
    CHECK(c.request("PUT", bob_path, R"({"conversation_role":"wire_admin"})", bob.auth()).status == 403);
    CHECK(c.request("PUT", bob_path, R"({"conversation_role":"owner"})", alice.auth()).status == 400);
    auto stranger = c.request("PUT", base + "/members/" + kDomain + "/00000000-0000-4000-8000-000000000000",
                              R"({"conversation_role":"wire_admin"})", alice.auth());
    CHECK(stranger.status == 404);
    CHECK(stranger.json()["label"] == "no-conversation-member");
    CHECK(c.get(base, bob.auth()).json()["members"]["self"]["conversation_role"] == "wire_member");

    REQUIRE(c.request("PUT", bob_path, R"({"conversation_role":"wire_admin"})", alice.auth()).status == 200);
    CHECK(c.get(base, bob.auth()).json()["members"]["self"]["conversation_role"] == "wire_admin");
    json event = latest("conversation.member-update");
    CHECK(event["from"] == alice.id);
    CHECK(event["data"]["target"] == bob.id);
    CHECK(event["data"]["conversation_role"] == "wire_admin");
    // Now an admin, bob may change the settings.
    CHECK(c.request("PUT", base + "/receipt-mode", R"({"receipt_mode":1})", bob.auth()).status == 200);

    // In the 1:1 between them there are no roles to change.
    std::string one2one = c.get("/v8/connections/" + kDomain + "/" + bob.id, alice.auth()).json()["conversation"];
    auto in_one2one = c.request("PUT", "/v8/conversations/" + kDomain + "/" + one2one + "/members/" + kDomain + "/" + bob.id,
                                R"({"conversation_role":"wire_member"})", alice.auth());
    CHECK(in_one2one.status == 403);
    CHECK(in_one2one.json()["label"] == "invalid-op");
  }

  SECTION("only group conversations have these settings; non-members get 403") {
    std::string one2one = c.get("/v8/connections/" + kDomain + "/" + bob.id, alice.auth()).json()["conversation"];
    auto r = c.request("PUT", "/v8/conversations/" + kDomain + "/" + one2one + "/receipt-mode", R"({"receipt_mode":1})",
                       alice.auth());
    CHECK(r.status == 403);
    CHECK(r.json()["label"] == "invalid-op");
    CHECK(c.request("PUT", "/v8/conversations/" + kDomain + "/" + one2one + "/message-timer",
                    R"({"message_timer":1000})", alice.auth())
              .status == 403);
    User eve = make_user(c, "eve");
    auto outsider = c.request("PUT", base + "/receipt-mode", R"({"receipt_mode":1})", eve.auth());
    CHECK(outsider.status == 403);
    CHECK(outsider.json()["label"] == "access-denied");
    CHECK(c.request("PUT", "/v8/conversations/" + kDomain + "/00000000-0000-4000-8000-000000000000/access",
                    R"({"access":["invite"],"access_role":["guest"]})", alice.auth())
              .status == 404);
  }
}

TEST_CASE("team members need no connection: invitation, group, message; closing the group to non-team members") {
  Box box;
  HttpsClient c(box.daemon->port());
  User alice = make_user(c, "alice", {{"team", {{"name", "T"}}}});
  const std::string team = c.get("/v8/self", alice.auth()).json()["team"];

  // Invitations: admin only, the code works once and only for the invited e-mail.
  auto inv = c.post_json("/v8/teams/" + team + "/invitations", {{"email", "bob@example.com"}, {"name", "Bob"}},
                         alice.auth());
  REQUIRE(inv.status == 201);
  CHECK(inv.json()["team"] == team);
  CHECK(inv.json()["role"] == "member");
  CHECK(inv.json()["email"] == "bob@example.com");
  CHECK(inv.json()["created_by"] == alice.id);
  std::string url = inv.json()["url"];
  std::string code = url.substr(url.find("team-code=") + 10);
  auto info = c.get("/v8/teams/invitations/info?code=" + code);
  REQUIRE(info.status == 200);
  CHECK(info.json()["id"] == inv.json()["id"]);
  CHECK(c.get("/v8/teams/invitations/info?code=nope").json()["label"] == "invalid-invitation-code");
  CHECK(c.get("/v8/teams/" + team + "/invitations", alice.auth()).json()["invitations"].size() == 1);
  auto wrong_email = c.post_json("/v8/register", {{"name", "Mallory"}, {"email", "mallory@example.com"},
                                                  {"password", "secret-password"}, {"team_code", code}});
  CHECK(wrong_email.status == 400);
  CHECK(wrong_email.json()["label"] == "invalid-invitation-code");
  User bob = make_user(c, "bob", {{"team_code", code}});
  CHECK(c.get("/v8/self", bob.auth()).json()["team"] == team);
  CHECK(c.get("/v8/teams/" + team + "/members/" + bob.id, alice.auth()).json()["permissions"]["self"] ==
        teams::kMemberPermissions);
  auto joined = events_of_type(notifications_of(c, alice, alice.client), "team.member-join");
  REQUIRE(joined.size() == 1);
  CHECK(joined[0]["team"] == team);
  CHECK(joined[0]["data"]["user"] == bob.id);
  auto reused = c.post_json("/v8/register", {{"name", "Bob 2"}, {"email", "bob@example.com"},
                                             {"password", "secret-password"}, {"team_code", code}});
  CHECK(reused.status == 400);
  CHECK(c.get("/v8/teams/" + team + "/invitations", alice.auth()).json()["invitations"].empty());
  auto by_member = c.post_json("/v8/teams/" + team + "/invitations", {{"email", "eve@example.com"}}, bob.auth());
  CHECK(by_member.status == 403);
  CHECK(by_member.json()["label"] == "insufficient-permissions");
  CHECK(c.post_json("/v8/teams/" + team + "/invitations", {{"email", "x@example.com"}, {"role", "owner"}}, alice.auth())
            .status == 201);  // the owner may hand out owner rights
  CHECK(c.post_json("/v8/teams/" + team + "/invitations", {{"email", "x@example.com"}, {"role", "boss"}}, alice.auth())
            .status == 400);

  // An invitation is good only while its inviter could still issue it: an admin removed from
  // the team does not get back in through a code made before (nor does anyone else).
  auto frank_inv = c.post_json("/v8/teams/" + team + "/invitations",
                               {{"email", "frank@example.com"}, {"role", "admin"}}, alice.auth());
  REQUIRE(frank_inv.status == 201);
  std::string frank_url = frank_inv.json()["url"];
  User frank = make_user(c, "frank", {{"team_code", frank_url.substr(frank_url.find("team-code=") + 10)}});
  auto spare = c.post_json("/v8/teams/" + team + "/invitations",
                           {{"email", "frank2@example.com"}, {"role", "admin"}}, frank.auth());
  REQUIRE(spare.status == 201);
  std::string spare_url = spare.json()["url"];
  std::string spare_code = spare_url.substr(spare_url.find("team-code=") + 10);
  admin::AdminClient admin;
  REQUIRE(admin.connect(box.dir.path() + "/admin.sock", std::chrono::seconds(5)).ok());
  REQUIRE(admin.call("team.remove-member", {{"team", team}, {"user", frank.id}}, std::chrono::seconds(5)).ok());
  auto comeback = c.post_json("/v8/register", {{"name", "Frank again"}, {"email", "frank2@example.com"},
                                               {"password", "secret-password"}, {"team_code", spare_code}});
  CHECK(comeback.status == 400);
  CHECK(comeback.json()["label"] == "invalid-invitation-code");

  // One invitation by id, the pending-invitation check by e-mail, and withdrawing it.
  auto carol_inv = c.post_json("/v8/teams/" + team + "/invitations", {{"email", "Carol@example.com"}}, alice.auth());
  REQUIRE(carol_inv.status == 201);
  const std::string inv_path = "/v8/teams/" + team + "/invitations/" + std::string(carol_inv.json()["id"]);
  auto one = c.get(inv_path, alice.auth());
  REQUIRE(one.status == 200);
  CHECK(one.json()["email"] == "Carol@example.com");
  CHECK(c.get(inv_path, bob.auth()).status == 403);
  CHECK(c.request("DELETE", inv_path, "", bob.auth()).status == 403);
  CHECK(c.request("HEAD", "/v8/teams/invitations/by-email?email=carol@example.com", "", {}).status == 200);
  CHECK(c.request("HEAD", "/v8/teams/invitations/by-email?email=x@example.com", "", {}).status == 200);
  CHECK(c.request("HEAD", "/v8/teams/invitations/by-email?email=nobody@example.com", "", {}).status == 404);
  REQUIRE(c.post_json("/v8/teams/" + team + "/invitations", {{"email", "x@example.com"}}, alice.auth()).status == 201);
  CHECK(c.request("HEAD", "/v8/teams/invitations/by-email?email=x@example.com", "", {}).status == 409);
  std::string carol_code = std::string(carol_inv.json()["url"]).substr(std::string(carol_inv.json()["url"]).find("team-code=") + 10);
  CHECK(c.request("DELETE", inv_path, "", alice.auth()).status == 200);
  CHECK(c.get(inv_path, alice.auth()).status == 404);
  CHECK(c.request("DELETE", inv_path, "", alice.auth()).status == 200);  // already gone: still 200
  CHECK(c.request("HEAD", "/v8/teams/invitations/by-email?email=carol@example.com", "", {}).status == 404);
  auto withdrawn = c.post_json("/v8/register", {{"name", "Carol"}, {"email", "carol@example.com"},
                                                {"password", "secret-password"}, {"team_code", carol_code}});
  CHECK(withdrawn.status == 400);
  CHECK(withdrawn.json()["label"] == "invalid-invitation-code");

  // A team group with Bob, no connection needed; the message reaches him.
  auto created = c.post_json("/v8/conversations",
                             {{"name", "team group"}, {"qualified_users", {qid(bob)}},
                              {"team", {{"teamid", team}, {"managed", false}}}},
                             alice.auth());
  REQUIRE(created.status == 201);
  const std::string conv = created.json()["id"];
  CHECK(created.json()["team"] == team);
  send(c, alice, conv, to(alice, {{&bob, bob.client}}, "hi team"), 201);
  auto got = events_of_type(notifications_of(c, bob, bob.client), "conversation.otr-message-add");
  REQUIRE(got.size() == 1);
  CHECK(got[0]["data"]["text"] == base64_encode("hi team"));
  CHECK(got[0]["team"] == team);

  // Carol (personal, connected to Alice) joins; closing the group to non-team members removes her.
  User carol = make_user(c, "carol");
  connect(c, alice, carol);
  const std::string base = "/v8/conversations/" + kDomain + "/" + conv;
  REQUIRE(c.post_json(base + "/members", {{"qualified_users", {qid(carol)}}}, alice.auth()).status == 200);
  auto closed = c.request("PUT", base + "/access", R"({"access":["invite"],"access_role":["team_member"]})", alice.auth());
  REQUIRE(closed.status == 200);
  auto left = events_of_type(notifications_of(c, carol, carol.client), "conversation.member-leave");
  REQUIRE(left.size() == 1);
  CHECK(left[0]["data"]["qualified_user_ids"][0]["id"] == carol.id);
  CHECK(left[0]["data"]["reason"] == "removed");
  CHECK(events_of_type(notifications_of(c, bob, bob.client), "conversation.member-leave").size() == 1);
  CHECK(c.get(base, carol.auth()).status == 403);
  json others = c.get(base, alice.auth()).json()["members"]["others"];
  REQUIRE(others.size() == 1);
  CHECK(others[0]["id"] == bob.id);

  // Closed, it takes no non-team member back, added or in a new team-only group (both used to
  // be let in).
  auto readd = c.post_json(base + "/members", {{"qualified_users", {qid(carol)}}}, alice.auth());
  CHECK(readd.status == 403);
  CHECK(readd.json()["label"] == "access-denied");
  auto team_only = c.post_json("/v8/conversations",
                               {{"name", "team only"}, {"qualified_users", {qid(carol)}},
                                {"team", {{"teamid", team}, {"managed", false}}}, {"access_role", {"team_member"}}},
                               alice.auth());
  CHECK(team_only.status == 403);
  CHECK(c.get(base, carol.auth()).status == 403);
}

TEST_CASE("conversations.max_group_size caps creation and additions with 403 too-many-members") {
  Box box(std::map<std::string, std::string>{{"conversations.max_group_size", "3"}});
  HttpsClient c(box.daemon->port());
  User alice = make_user(c, "alice");
  std::vector<User> friends;
  for (const char* name : {"bob", "carol", "dave"}) {
    friends.push_back(make_user(c, name));
    connect(c, alice, friends.back());
  }
  auto too_many = c.post_json("/v8/conversations",
                              {{"qualified_users", {qid(friends[0]), qid(friends[1]), qid(friends[2])}}}, alice.auth());
  CHECK(too_many.status == 403);
  CHECK(too_many.json()["label"] == "too-many-members");
  auto created = c.post_json("/v8/conversations", {{"qualified_users", {qid(friends[0]), qid(friends[1])}}}, alice.auth());
  REQUIRE(created.status == 201);
  const std::string base = "/v8/conversations/" + kDomain + "/" + created.json()["id"].get<std::string>();
  auto add = c.post_json(base + "/members", {{"qualified_users", {qid(friends[2])}}}, alice.auth());
  CHECK(add.status == 403);
  CHECK(add.json()["label"] == "too-many-members");
  CHECK(c.get(base, alice.auth()).json()["members"]["others"].size() == 2);
  // After someone leaves there is room again.
  REQUIRE(c.request("DELETE", base + "/members/" + kDomain + "/" + friends[1].id, "", alice.auth()).status == 200);
  CHECK(c.post_json(base + "/members", {{"qualified_users", {qid(friends[2])}}}, alice.auth()).status == 200);
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
