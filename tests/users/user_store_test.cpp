#include <catch2/catch.hpp>

#include <set>

#include "storage/sqlite.h"
#include "support/temp_dir.h"
#include "users/api.h"
#include "users/user_store.h"

using namespace wirebox;
using namespace wirebox::users;

namespace {

struct Fixture {
  test::TempDir dir;
  storage::Database db{dir.file("t.db"), 2};
  std::unique_ptr<UserStore> store;
  Fixture() {
    storage::apply_migrations(db, {user_schema()});
    store = make_sqlite_user_store(db);
  }
  User add(const std::string& name, const std::string& email) {
    NewUser n;
    n.name = name;
    n.email = email;
    n.password_hash = "h";
    auto u = store->create(n);
    REQUIRE(u.ok());
    return *u;
  }
};

}  // namespace

TEST_CASE("emails are unique case-insensitively and the duplicate writes nothing") {
  Fixture f;
  f.add("A", "a@example.com");
  NewUser dup;
  dup.name = "B";
  dup.email = "A@Example.COM";
  dup.password_hash = "h";
  auto r = f.store->create(dup);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == 409);
  CHECK(r.error().label == "key-exists");
  CHECK(f.store->count() == 1);
  CHECK(f.store->find_by_email("A@EXAMPLE.com").has_value());
}

TEST_CASE("handles are unique and validated") {
  Fixture f;
  User a = f.add("A", "a@x.org");
  User b = f.add("B", "b@x.org");
  REQUIRE(f.store->set_handle(a.id, "alice").ok());
  CHECK(f.store->handle_taken("alice"));
  CHECK(f.store->set_handle(b.id, "alice").error().label == "handle-exists");
  CHECK(f.store->find(b.id)->handle.empty());
  CHECK(is_valid_handle("a.b-c_9"));
  CHECK_FALSE(is_valid_handle("A"));
  CHECK_FALSE(is_valid_handle("Upper"));
  CHECK_FALSE(is_valid_handle("with space"));
  CHECK_FALSE(is_valid_handle(std::string(257, 'a')));
}

TEST_CASE("search matches name and handle prefixes and excludes the searcher") {
  Fixture f;
  User a = f.add("Alice Liddell", "a@x.org");
  User b = f.add("Bob Builder", "b@x.org");
  f.store->set_handle(b.id, "bobby");
  auto by_name = f.store->search("lid", 10, "", "");
  REQUIRE(by_name.size() == 1);
  CHECK(by_name[0].id == a.id);
  CHECK(f.store->search("bobb", 10, "", "")[0].id == b.id);
  CHECK(f.store->search("alice", 10, a.id, "").empty());
  CHECK(f.store->search("\"*) OR (", 10, "", "").empty());  // FTS syntax is not injectable
  f.store->update_profile(a.id, {std::string("Carol"), std::nullopt, std::nullopt});
  CHECK(f.store->search("alice", 10, "", "").empty());
  CHECK(f.store->search("carol", 10, "", "").size() == 1);
}

TEST_CASE("search shows other teams' members by exact handle only, and fills its page after filtering") {
  Fixture f;
  User outsider = f.add("Olga Outsider", "o@x.org");
  User mate = f.add("Zed Mate", "m@x.org");
  User stranger = f.add("Zed Stranger", "s@x.org");
  User personal = f.add("Zed Personal", "p@x.org");
  REQUIRE(f.store->set_team(mate.id, "team-a").ok());
  REQUIRE(f.store->set_team(stranger.id, "team-b").ok());
  REQUIRE(f.store->set_handle(stranger.id, "zedstranger").ok());
  auto ids = [](const std::vector<User>& found) {
    std::set<std::string> out;
    for (const auto& u : found) out.insert(u.id);
    return out;
  };
  // Someone without a team sees personal users only; a member of team-a also sees team-a.
  CHECK(ids(f.store->search("zed", 10, outsider.id, "")) == std::set<std::string>{personal.id});
  CHECK(ids(f.store->search("zed", 10, mate.id, "team-a")) == std::set<std::string>{personal.id});
  CHECK(ids(f.store->search("zed", 10, outsider.id, "team-a")) == std::set<std::string>{personal.id, mate.id});
  // team-b's member is found by exact handle, with or without '@', and not by a prefix of it.
  CHECK(ids(f.store->search("zedstranger", 10, outsider.id, "")) == std::set<std::string>{stranger.id});
  CHECK(ids(f.store->search("@ZedStranger", 10, outsider.id, "")) == std::set<std::string>{stranger.id});
  CHECK(f.store->search("zedstr", 10, outsider.id, "").empty());
  // The limit counts visible users: hidden ones ranked first do not leave the page short.
  CHECK(f.store->search("zed", 1, outsider.id, "").size() == 1);
}

TEST_CASE("properties are capped per user") {
  Fixture f;
  User a = f.add("A", "a@x.org");
  for (int i = 0; i < 3; ++i) REQUIRE(f.store->set_property(a.id, "k" + std::to_string(i), "1", 3).ok());
  CHECK(f.store->set_property(a.id, "k3", "1", 3).error().code == 403);
  CHECK(f.store->set_property(a.id, "k0", "2", 3).ok());  // overwriting is not a new key
  CHECK(*f.store->property(a.id, "k0") == "2");
  CHECK(f.store->property_keys(a.id).size() == 3);
}
