#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "storage/sqlite.h"
#include "support/temp_dir.h"

using namespace wirebox;
using storage::Connection;
using storage::Database;
using storage::SqliteError;

namespace {

// No Catch assertions inside: it is also called from helper threads, and Catch2 v2's
// assertion macros are not thread-safe.
int64_t count_rows(Database& db, const std::string& table) {
  int64_t n = -1;
  db.read([&](Connection& c) {
    auto st = c.prepare("SELECT COUNT(*) FROM " + table);
    if (st.step()) n = st.integer(0);
  });
  return n;
}

}  // namespace

TEST_CASE("Database writes are visible to readers and survive reopening", "[sqlite]") {
  test::TempDir dir;
  std::string path = dir.file("test.db");
  {
    Database db(path);
    db.write([](Connection& c) {
      c.exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT, n INTEGER, b BLOB)");
      c.prepare("INSERT INTO kv (k, v, n, b) VALUES (?, ?, ?, ?)")
          .bind(1, "a")
          .bind(2, std::string("hello"))
          .bind(3, int64_t{1} << 40)
          .bind_blob(4, std::string("\0\1\2", 3))
          .run();
      c.prepare("INSERT INTO kv (k, v, n, b) VALUES (?, ?, ?, ?)")
          .bind(1, "b")
          .bind_opt(2, std::nullopt)
          .bind(3, -7)
          .bind_null(4)
          .run();
    });
    db.read([](Connection& c) {
      auto st = c.prepare("SELECT k, v, n, b FROM kv ORDER BY k");
      REQUIRE(st.step());
      CHECK(st.text(0) == "a");
      CHECK(st.text_or_null(1) == std::optional<std::string>("hello"));
      CHECK(st.integer(2) == int64_t{1} << 40);
      CHECK(st.text(3) == std::string("\0\1\2", 3));
      REQUIRE(st.step());
      CHECK(st.text(0) == "b");
      CHECK(st.is_null(1));
      CHECK_FALSE(st.text_or_null(1).has_value());
      CHECK(st.integer(2) == -7);
      CHECK(st.is_null(3));
      CHECK_FALSE(st.step());
    });
  }
  Database again(path);
  CHECK(count_rows(again, "kv") == 2);
}

TEST_CASE("Database uses WAL with foreign keys enforced", "[sqlite]") {
  test::TempDir dir;
  Database db(dir.file("test.db"));
  db.write([](Connection& c) {
    auto st = c.prepare("PRAGMA journal_mode");
    REQUIRE(st.step());
    CHECK(st.text(0) == "wal");
    c.exec("CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (p INTEGER REFERENCES parent(id))");
  });
  try {
    db.write([](Connection& c) { c.exec("INSERT INTO child (p) VALUES (42)"); });
    FAIL("foreign key violation was accepted");
  } catch (const SqliteError& e) {
    CHECK(e.is_constraint());
  }
  CHECK(count_rows(db, "child") == 0);
}

TEST_CASE("a write that throws is rolled back entirely", "[sqlite]") {
  test::TempDir dir;
  Database db(dir.file("test.db"));
  db.write([](Connection& c) { c.exec("CREATE TABLE t (x INTEGER UNIQUE)"); });

  SECTION("an exception from the callback") {
    CHECK_THROWS_WITH(db.write([](Connection& c) {
      c.exec("INSERT INTO t VALUES (1)");
      c.exec("INSERT INTO t VALUES (2)");
      throw std::runtime_error("changed my mind");
    }),
                      "changed my mind");
  }
  SECTION("a failing statement") {
    CHECK_THROWS_AS(db.write([](Connection& c) {
      c.exec("INSERT INTO t VALUES (1)");
      c.prepare("INSERT INTO t VALUES (?)").bind(1, 1).run();  // UNIQUE violation
    }),
                    SqliteError);
  }
  SECTION("a non-std exception") {
    CHECK_THROWS(db.write([](Connection& c) {
      c.exec("INSERT INTO t VALUES (1)");
      throw 42;
    }));
  }
  CHECK(count_rows(db, "t") == 0);
  // The writer is usable afterwards (no transaction left open).
  db.write([](Connection& c) { c.exec("INSERT INTO t VALUES (3)"); });
  CHECK(count_rows(db, "t") == 1);
}

TEST_CASE("SQL errors carry SQLite's message and code", "[sqlite]") {
  test::TempDir dir;
  Database db(dir.file("test.db"));
  try {
    db.write([](Connection& c) { c.prepare("SELEKT 1"); });
    FAIL("prepare of bad SQL succeeded");
  } catch (const SqliteError& e) {
    CHECK_THAT(e.what(), Catch::Matchers::Contains("syntax error"));
    CHECK_FALSE(e.is_constraint());
  }
  CHECK_THROWS_AS(db.read([](Connection& c) { c.exec("CREATE TABLE nope (x)"); }), SqliteError);  // read-only
}

TEST_CASE("opening a database in a missing directory throws SqliteError", "[sqlite]") {
  test::TempDir dir;
  CHECK_THROWS_AS(Database(dir.file("no/such/dir/test.db")), SqliteError);
}

TEST_CASE("readers see only committed data", "[sqlite]") {
  test::TempDir dir;
  Database db(dir.file("test.db"));
  db.write([](Connection& c) { c.exec("CREATE TABLE t (x INTEGER)"); });
  db.write([&](Connection& c) {
    c.exec("INSERT INTO t VALUES (1)");
    // Inside the uncommitted write transaction, a reader still sees the old state.
    CHECK(count_rows(db, "t") == 0);
  });
  CHECK(count_rows(db, "t") == 1);
}

TEST_CASE("concurrent writers from many threads all commit", "[sqlite]") {
  test::TempDir dir;
  Database db(dir.file("test.db"), 2);
  db.write([](Connection& c) { c.exec("CREATE TABLE t (thread INTEGER, i INTEGER, PRIMARY KEY (thread, i))"); });
  constexpr int kThreads = 4;
  constexpr int kWrites = 15;
  std::atomic<int> failures{0};
  std::atomic<bool> writers_done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        try {
          db.write([&](Connection& c) { c.prepare("INSERT INTO t VALUES (?, ?)").bind(1, t).bind(2, i).run(); });
        } catch (...) {
          failures++;
        }
      }
    });
  }
  // A concurrent reader only ever sees a growing, committed count.
  std::thread reader([&] {
    int64_t last = 0;
    while (!writers_done.load()) {
      int64_t n = count_rows(db, "t");
      if (n < last || n > kThreads * kWrites) failures++;
      last = n;
    }
  });
  for (auto& th : threads) th.join();
  writers_done = true;
  reader.join();
  CHECK(failures.load() == 0);
  CHECK(count_rows(db, "t") == kThreads * kWrites);
}

TEST_CASE("a connection hands a statement out again, reset and with fresh bindings", "[sqlite]") {
  test::TempDir dir;
  Database db(dir.file("test.db"));
  db.write([](Connection& c) { c.exec("CREATE TABLE t (a TEXT, b TEXT)"); });
  const std::string insert = "INSERT INTO t VALUES (?, ?)";
  sqlite3_stmt* first = nullptr;
  db.write([&](Connection& c) {
    auto st = c.prepare(insert);
    first = st.raw();
    st.bind(1, "a1").bind(2, "b1").run();
  });
  db.write([&](Connection& c) {
    auto st = c.prepare(insert);
    CHECK(st.raw() == first);  // compiled once
    st.bind(1, "a2").run();    // b left unbound: NULL, not the last use's "b1"
  });
  db.read([](Connection& c) {
    auto st = c.prepare("SELECT a, b FROM t ORDER BY a");
    REQUIRE(st.step());
    CHECK(st.text(1) == "b1");
    REQUIRE(st.step());
    CHECK(st.text(0) == "a2");
    CHECK(st.is_null(1));
    CHECK_FALSE(st.step());
  });
}

TEST_CASE("the same SQL prepared while its statement is still iterating gets its own statement", "[sqlite]") {
  test::TempDir dir;
  Database db(dir.file("test.db"));
  db.write([](Connection& c) { c.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3);"); });
  db.read([](Connection& c) {
    const std::string select = "SELECT x FROM t ORDER BY x";
    auto outer = c.prepare(select);
    std::vector<int64_t> pairs;
    // Bounded: were the statement shared, the inner loop would restart the outer one forever.
    while (pairs.size() < 10 && outer.step()) {
      auto inner = c.prepare(select);
      CHECK(inner.raw() != outer.raw());
      int64_t inner_rows = 0;
      while (inner.step()) ++inner_rows;
      pairs.push_back(outer.integer(0) * 10 + inner_rows);
    }
    CHECK(pairs == std::vector<int64_t>{13, 23, 33});
  });
}

TEST_CASE("a cached statement follows a schema change", "[sqlite]") {
  test::TempDir dir;
  Database db(dir.file("test.db"));
  db.write([](Connection& c) { c.exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);"); });
  auto columns = [&db] {
    int n = -1;
    db.write([&](Connection& c) {
      auto st = c.prepare("SELECT * FROM t");
      if (st.step()) n = sqlite3_column_count(st.raw());
    });
    return n;
  };
  CHECK(columns() == 1);
  db.write([](Connection& c) { c.exec("ALTER TABLE t ADD COLUMN y TEXT"); });
  CHECK(columns() == 2);
}

TEST_CASE("a statement that failed is reset and usable again", "[sqlite]") {
  test::TempDir dir;
  Database db(dir.file("test.db"));
  db.write([](Connection& c) { c.exec("CREATE TABLE t (x INTEGER PRIMARY KEY)"); });
  const std::string insert = "INSERT INTO t VALUES (?)";
  db.write([&](Connection& c) { c.prepare(insert).bind(1, 1).run(); });
  CHECK_THROWS_AS(db.write([&](Connection& c) { c.prepare(insert).bind(1, 1).run(); }), SqliteError);
  db.write([&](Connection& c) { c.prepare(insert).bind(1, 2).run(); });
  CHECK(count_rows(db, "t") == 2);
}
