#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "storage/migrations.h"
#include "support/temp_dir.h"

using namespace wirebox;
using storage::Connection;
using storage::Database;
using storage::Migration;
using storage::ModuleSchema;

namespace {

std::vector<std::string> applied(Database& db) {
  std::vector<std::string> out;
  db.read([&](Connection& c) {
    auto st = c.prepare("SELECT module, version FROM schema_migrations ORDER BY rowid");
    while (st.step()) out.push_back(st.text(0) + "/" + std::to_string(st.integer(1)));
  });
  return out;
}

bool table_exists(Database& db, const std::string& name) {
  bool exists = false;
  db.read([&](Connection& c) {
    auto st = c.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    st.bind(1, name);
    exists = st.step();
  });
  return exists;
}

// Version 2 depends on version 1, so running them out of order would fail.
ModuleSchema users_v2() {
  return {"users",
          {{1, "CREATE TABLE users (id TEXT PRIMARY KEY)"},
           {2, "ALTER TABLE users ADD COLUMN name TEXT; CREATE INDEX users_name ON users(name)"}}};
}

}  // namespace

TEST_CASE("migrations apply once, in order, per module", "[migrations]") {
  test::TempDir dir;
  Database db(dir.file("test.db"));
  CHECK(storage::schema_version(db, "users") == 0);  // creates nothing, no table yet needed

  std::vector<ModuleSchema> schemas = {users_v2(), {"teams", {{1, "CREATE TABLE teams (id TEXT PRIMARY KEY)"}}}};
  CHECK(storage::apply_migrations(db, schemas) == 3);
  CHECK(applied(db) == std::vector<std::string>{"users/1", "users/2", "teams/1"});
  CHECK(storage::schema_version(db, "users") == 2);
  CHECK(storage::schema_version(db, "teams") == 1);
  CHECK(storage::schema_version(db, "clients") == 0);
  db.write([](Connection& c) { c.exec("INSERT INTO users (id, name) VALUES ('u1', 'alice')"); });

  SECTION("re-running applies nothing") {
    CHECK(storage::apply_migrations(db, schemas) == 0);
    CHECK(applied(db).size() == 3);
  }
  SECTION("only the new version runs after an append") {
    schemas[0].migrations.push_back({3, "ALTER TABLE users ADD COLUMN email TEXT"});
    CHECK(storage::apply_migrations(db, schemas) == 1);
    CHECK(storage::schema_version(db, "users") == 3);
    CHECK(applied(db).back() == "users/3");
  }
  SECTION("state persists across reopening") {
    Database again(dir.file("test.db"));
    CHECK(storage::apply_migrations(again, schemas) == 0);
    CHECK(storage::schema_version(again, "users") == 2);
  }
  // Data written between runs is untouched.
  int64_t n = 0;
  db.read([&](Connection& c) {
    auto st = c.prepare("SELECT COUNT(*) FROM users");
    REQUIRE(st.step());
    n = st.integer(0);
  });
  CHECK(n == 1);
}

TEST_CASE("a failing migration is rolled back and stops the run", "[migrations]") {
  test::TempDir dir;
  Database db(dir.file("test.db"));
  REQUIRE(storage::apply_migrations(db, {users_v2()}) == 2);

  ModuleSchema broken = users_v2();
  broken.migrations.push_back({3, "CREATE TABLE half_done (x INTEGER); INSERT INTO no_such_table VALUES (1)"});
  broken.migrations.push_back({4, "CREATE TABLE never (x INTEGER)"});
  CHECK_THROWS_AS(storage::apply_migrations(db, {broken}), storage::SqliteError);

  CHECK_FALSE(table_exists(db, "half_done"));  // the first statement of version 3 was undone
  CHECK_FALSE(table_exists(db, "never"));      // later versions did not run
  CHECK(storage::schema_version(db, "users") == 2);
  CHECK(applied(db) == std::vector<std::string>{"users/1", "users/2"});

  // Fixed and re-run: versions 3 and 4 apply.
  broken.migrations[2].sql = "CREATE TABLE half_done (x INTEGER)";
  CHECK(storage::apply_migrations(db, {broken}) == 2);
  CHECK(table_exists(db, "half_done"));
  CHECK(table_exists(db, "never"));
  CHECK(storage::schema_version(db, "users") == 4);
}

TEST_CASE("a database migrated by a newer wireboxd is refused before anything runs", "[migrations]") {
  test::TempDir dir;
  Database db(dir.file("test.db"));
  ModuleSchema newer = users_v2();
  newer.migrations.push_back({3, "ALTER TABLE users ADD COLUMN email TEXT"});
  REQUIRE(storage::apply_migrations(db, {newer}) == 3);
  // This build knows users up to version 2 and a teams module the database has not got yet.
  ModuleSchema teams = {"teams", {{1, "CREATE TABLE teams (id TEXT PRIMARY KEY)"}}};
  CHECK_THROWS_WITH(storage::apply_migrations(db, {teams, users_v2()}), Catch::Contains("newer than this wireboxd"));
  CHECK_FALSE(table_exists(db, "teams"));  // nothing ran, not even the other module's
  CHECK(storage::schema_version(db, "users") == 3);
}
