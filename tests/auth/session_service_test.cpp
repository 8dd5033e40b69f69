#include <catch2/catch.hpp>

#include <set>

#include "auth/session_service.h"
#include "core/time.h"
#include "storage/migrations.h"
#include "storage/sqlite.h"
#include "support/temp_dir.h"

using namespace wirebox;
using namespace wirebox::auth;

namespace {

struct Fixture {
  test::TempDir dir;
  storage::Database db{dir.file("t.db"), 2};
  SessionOptions options;
  std::unique_ptr<SessionService> sessions;

  explicit Fixture(int64_t renew_age = 1209600) {
    storage::apply_migrations(db, {cookie_schema()});
    options.cookie_renew_age_seconds = renew_age;
    sessions = std::make_unique<SessionService>(options, TokenSigner::generate(), make_sqlite_cookie_store(db));
    sessions->set_client_check([](const std::string&, const std::string& c) { return c == "c1"; });
  }
};

std::string cookie_value(const std::string& set_cookie) {
  return SessionService::cookie_from_header(set_cookie.substr(0, set_cookie.find(';')));
}

}  // namespace

TEST_CASE("a persistent session gives a cookie with Expires that refreshes into tokens") {
  Fixture f;
  auto s = f.sessions->open("user-1", true, "");
  REQUIRE(s.ok());
  CHECK(s->set_cookie.find("; Path=/access; Expires=") != std::string::npos);
  CHECK(s->set_cookie.find("HttpOnly; Secure") != std::string::npos);
  CHECK(s->access["token_type"] == "Bearer");
  CHECK(s->access["expires_in"].is_number());
  auto id = f.sessions->verify(s->access["access_token"].get<std::string>());
  REQUIRE(id.ok());
  CHECK(id->user_id == "user-1");

  auto r = f.sessions->refresh(cookie_value(s->set_cookie), std::nullopt);
  REQUIRE(r.ok());
  CHECK(r->access["user"] == "user-1");
  CHECK_FALSE(r->set_cookie.has_value());  // young cookie: no rotation
}

TEST_CASE("a session cookie has no Expires attribute") {
  Fixture f;
  auto s = f.sessions->open("u", false, "");
  REQUIRE(s.ok());
  CHECK(s->set_cookie.find("Expires") == std::string::npos);
}

TEST_CASE("refresh failures are 403 invalid-credentials, never 401") {
  Fixture f;
  auto missing = f.sessions->refresh("", std::nullopt);
  CHECK(missing.error().code == 403);
  CHECK(missing.error().message == "Missing cookie");
  auto unknown = f.sessions->refresh("not-a-cookie", std::nullopt);
  CHECK(unknown.error().code == 403);
  CHECK(unknown.error().label == "invalid-credentials");
}

TEST_CASE("client_id binds the token to a client the user owns, and sticks to the cookie") {
  Fixture f;
  auto s = f.sessions->open("u", true, "");
  std::string cookie = cookie_value(s->set_cookie);
  CHECK(f.sessions->refresh(cookie, std::string("c2")).error().code == 403);
  auto bound = f.sessions->refresh(cookie, std::string("c1"));
  REQUIRE(bound.ok());
  CHECK(f.sessions->verify(bound->access["access_token"].get<std::string>())->client_id == "c1");
  auto again = f.sessions->refresh(cookie, std::nullopt);
  CHECK(f.sessions->verify(again->access["access_token"].get<std::string>())->client_id == "c1");
}

TEST_CASE("logout revokes the cookie") {
  Fixture f;
  auto s = f.sessions->open("u", true, "");
  std::string cookie = cookie_value(s->set_cookie);
  REQUIRE(f.sessions->logout(cookie).ok());
  CHECK(f.sessions->refresh(cookie, std::nullopt).error().code == 403);
  CHECK(f.sessions->logout(cookie).error().code == 403);
}

TEST_CASE("old cookies are rotated; the old value keeps working and logout kills both") {
  Fixture f(0);  // every refresh rotates
  auto s = f.sessions->open("u", true, "");
  std::string old_cookie = cookie_value(s->set_cookie);
  auto r = f.sessions->refresh(old_cookie, std::nullopt);
  REQUIRE(r.ok());
  REQUIRE(r->set_cookie.has_value());
  std::string new_cookie = cookie_value(*r->set_cookie);
  CHECK(new_cookie != old_cookie);
  CHECK(f.sessions->refresh(new_cookie, std::nullopt).ok());
  CHECK(f.sessions->refresh(old_cookie, std::nullopt).ok());
  REQUIRE(f.sessions->logout(old_cookie).ok());
  CHECK_FALSE(f.sessions->refresh(new_cookie, std::nullopt).ok());
}

TEST_CASE("logging out with the newest cookie of a rotation chain also ends the older ones") {
  Fixture f(0);  // every refresh of a cookie not yet rotated rotates it
  auto s = f.sessions->open("u", true, "");
  std::string c1 = cookie_value(s->set_cookie);
  auto r1 = f.sessions->refresh(c1, std::nullopt);
  REQUIRE(r1->set_cookie.has_value());
  std::string c2 = cookie_value(*r1->set_cookie);
  auto r2 = f.sessions->refresh(c2, std::nullopt);
  REQUIRE(r2->set_cookie.has_value());
  std::string c3 = cookie_value(*r2->set_cookie);
  std::string other = cookie_value(f.sessions->open("u", true, "")->set_cookie);  // another session
  REQUIRE(f.sessions->logout(c3).ok());  // what a browser holds after the rotations
  CHECK_FALSE(f.sessions->refresh(c1, std::nullopt).ok());  // used to keep working for weeks
  CHECK_FALSE(f.sessions->refresh(c2, std::nullopt).ok());
  CHECK_FALSE(f.sessions->refresh(c3, std::nullopt).ok());
  CHECK(f.sessions->refresh(other, std::nullopt).ok());
}

TEST_CASE("a deleted client's cookies stop working: bound to it, or carrying its cookie label") {
  Fixture f;
  std::string bound = cookie_value(f.sessions->open("u", true, "")->set_cookie);
  REQUIRE(f.sessions->refresh(bound, std::string("c1")).ok());  // bound to client c1
  std::string labelled = cookie_value(f.sessions->open("u", true, "laptop")->set_cookie);
  std::string unrelated = cookie_value(f.sessions->open("u", true, "phone")->set_cookie);
  std::string other_user = cookie_value(f.sessions->open("v", true, "laptop")->set_cookie);
  REQUIRE(f.sessions->logout_client("u", "c1", "laptop").ok());
  CHECK_FALSE(f.sessions->refresh(bound, std::nullopt).ok());
  CHECK_FALSE(f.sessions->refresh(labelled, std::nullopt).ok());
  CHECK(f.sessions->refresh(unrelated, std::nullopt).ok());
  CHECK(f.sessions->refresh(other_user, std::nullopt).ok());
  // A client without a cookie label removes only the cookies bound to it.
  std::string unlabelled = cookie_value(f.sessions->open("u", true, "")->set_cookie);
  REQUIRE(f.sessions->logout_client("u", "c9", "").ok());
  CHECK(f.sessions->refresh(unlabelled, std::nullopt).ok());
}

TEST_CASE("cookies are stored hashed") {
  Fixture f;
  auto s = f.sessions->open("u", true, "");
  std::string cookie = cookie_value(s->set_cookie);
  bool plaintext_found = false;
  f.db.read([&](storage::Connection& c) {
    auto st = c.prepare("SELECT COUNT(*) FROM auth_cookies WHERE hash = ? OR label = ?");
    st.bind(1, cookie).bind(2, cookie);
    st.step();
    plaintext_found = st.integer(0) > 0;
  });
  CHECK_FALSE(plaintext_found);
}

TEST_CASE("a cookie bound to a client is not moved to another while the first exists") {
  Fixture f;
  std::set<std::string> clients = {"c1", "c2"};
  f.sessions->set_client_check([&](const std::string&, const std::string& c) { return clients.count(c) > 0; });
  std::string cookie = cookie_value(f.sessions->open("u", true, "")->set_cookie);
  REQUIRE(f.sessions->refresh(cookie, std::string("c1")).ok());
  // Moving it to c2 (a stolen cookie hiding from the deletion of c1) is refused.
  auto moved = f.sessions->refresh(cookie, std::string("c2"));
  REQUIRE_FALSE(moved.ok());
  CHECK(moved.error().code == 403);
  CHECK(moved.error().label == "invalid-credentials");
  CHECK(f.sessions->refresh(cookie, std::string("c1")).ok());
  // Once c1 is gone (deleted without revoking this cookie, e.g. before the cookie was bound),
  // the cookie may be bound anew: the device registered a new client.
  clients.erase("c1");
  auto rebound = f.sessions->refresh(cookie, std::string("c2"));
  REQUIRE(rebound.ok());
  CHECK(f.sessions->verify(rebound->access["access_token"].get<std::string>())->client_id == "c2");
}

TEST_CASE("logging out everywhere voids the access tokens already issued, not the next ones") {
  Fixture f;
  std::string cookie = cookie_value(f.sessions->open("u", true, "")->set_cookie);
  auto before = f.sessions->refresh(cookie, std::nullopt);
  REQUIRE(before.ok());
  std::string old_token = before->access["access_token"];
  std::string other_user = f.sessions->refresh(cookie_value(f.sessions->open("v", true, "")->set_cookie), std::nullopt)
                               ->access["access_token"];
  REQUIRE(f.sessions->verify(old_token).ok());
  REQUIRE(f.sessions->logout_everywhere("u").ok());
  auto refused = f.sessions->verify(old_token);  // it used to work until it expired (15 min)
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == 401);
  CHECK_FALSE(f.sessions->refresh(cookie, std::nullopt).ok());
  CHECK(f.sessions->verify(other_user).ok());
  // Logging in again at once (the same second) gives a token that works.
  auto again = f.sessions->refresh(cookie_value(f.sessions->open("u", true, "")->set_cookie), std::nullopt);
  REQUIRE(again.ok());
  CHECK(f.sessions->verify(again->access["access_token"].get<std::string>()).ok());
}
