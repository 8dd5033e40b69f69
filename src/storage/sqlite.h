// Thin RAII layer over SQLite for the module stores (the only code that holds SQL).
//
// Database owns one writer connection and a small pool of read-only connections on the same
// file in WAL mode. SQLite allows one writer at a time, so Database::write() serialises write
// transactions on the writer (BEGIN IMMEDIATE ... COMMIT) and only returns after COMMIT: a
// caller that acknowledges a client after write() returns has the data on disk
// (synchronous=FULL). Readers see the last committed state. All methods are thread-safe; a
// Connection handed to a callback must not escape it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/api_error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace wirebox::storage {

// Thrown only inside storage callbacks (SQLite failures are programming or disk errors);
// Database::write/read catch it at the module edge and turn it into a Status.
class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }
  bool is_constraint() const;

 private:
  int code_;
};

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view text);  // 1-based, SQLITE_TRANSIENT copy
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);
  Statement& bind_opt(int index, const std::optional<std::string>& text);

  bool step();          // true while a row is available
  void run();           // steps to completion (for statements returning no rows)
  void reset();

  std::string text(int col) const;
  std::optional<std::string> text_or_null(int col) const;
  int64_t integer(int col) const;
  bool is_null(int col) const;

  int64_t changes() const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Connection {
 public:
  explicit Connection(sqlite3* db) : db_(db) {}
  Statement prepare(std::string_view sql) { return Statement(db_, sql); }
  void exec(std::string_view sql);  // one or more statements, no results
  sqlite3* raw() { return db_; }

 private:
  sqlite3* db_;
};

class Database {
 public:
  // Opens (creating if needed) the database file. Throws SqliteError if it cannot be opened.
  explicit Database(const std::string& path, int readers = 4);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs fn in one write transaction; commits if fn returns normally, rolls back if it throws.
  // Rethrows after rollback. Blocks while another write is running.
  void write(const std::function<void(Connection&)>& fn);
  // write() for store implementations: a SQLite failure becomes a 500 ApiError naming `what`
  // (e.g. "user store") instead of an exception crossing the module edge.
  Status try_write(std::string_view what, const std::function<void(Connection&)>& fn);
  // Runs fn on a read-only connection (snapshot of the last commit).
  void read(const std::function<void(Connection&)>& fn);
  // Writes a consistent, compacted copy of the database as of one committed state to `path`
  // (VACUUM INTO on a connection of its own, so writers keep going). `path` must not exist.
  // For online backups; blocking.
  Status snapshot_to(const std::string& path) const;
  // Writer connection for start-up work (migrations) before any concurrent use.
  Connection& writer_for_setup() { return *writer_; }

 private:
  sqlite3* open(const std::string& path, bool readonly);

  std::string path_;
  sqlite3* writer_db_ = nullptr;
  std::unique_ptr<Connection> writer_;
  std::mutex write_mu_;

  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::vector<sqlite3*> idle_readers_;
  std::vector<sqlite3*> all_readers_;
};

// Opens the database file at `path` read-only and runs SQLite's integrity check; an error names
// the first problem (e.g. a restored backup that is not a database).
Status check_integrity(const std::string& path);

}  // namespace wirebox::storage
