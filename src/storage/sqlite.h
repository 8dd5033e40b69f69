// Thin RAII layer over SQLite for the module stores (the only code that holds SQL).
//
// Database owns one writer connection and a small pool of read-only connections on the same
// file in WAL mode. SQLite allows one writer at a time, so Database::write() serialises write
// transactions on the writer (BEGIN IMMEDIATE ... COMMIT) and only returns after COMMIT: a
// caller that acknowledges a client after write() returns has the data on disk
// (synchronous=FULL). Readers see the last committed state. All methods are thread-safe; a
// Connection handed to a callback must not escape it.
//
// Each connection keeps the statements it prepared (keyed by their SQL text) and hands them
// out again, reset, instead of compiling the same SQL for every request: parsing and planning
// were ~15 % of a small upload's CPU. A statement still in use (a SELECT being iterated while
// the same SQL runs again) is never handed out twice; the second one is compiled afresh.
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
#include <unordered_map>
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

// A prepared statement. Made by Connection::prepare, it must not outlive its Connection's
// callback; when it goes, its cached statement is reset and free for the next prepare().
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);  // compiled for this object alone
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
  sqlite3_stmt* raw() const { return stmt_; }

 private:
  friend class Connection;
  Statement(sqlite3* db, sqlite3_stmt* cached, bool* in_use) : db_(db), stmt_(cached), cached_in_use_(in_use) {}

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  bool* cached_in_use_ = nullptr;  // set: stmt_ belongs to the connection's cache
};

class Connection {
 public:
  explicit Connection(sqlite3* db) : db_(db) {}
  ~Connection();  // finalizes the cached statements (before the handle is closed)
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The cached statement for this SQL if it is free, else a freshly compiled one.
  Statement prepare(std::string_view sql);
  void exec(std::string_view sql);  // one or more statements, no results, not cached
  sqlite3* raw() { return db_; }

 private:
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  // SQL built at run time (IN lists of varying length) could grow the cache without end: past
  // this many distinct statements, new ones are compiled per use.
  static constexpr size_t kMaxCached = 256;
  std::unordered_map<std::string, std::unique_ptr<Cached>> cache_;  // unique_ptr: in_use stays put

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
  std::vector<Connection*> idle_readers_;
  std::vector<std::unique_ptr<Connection>> readers_;
  std::vector<sqlite3*> reader_dbs_;
};

// Opens the database file at `path` read-only and runs SQLite's integrity check; an error names
// the first problem (e.g. a restored backup that is not a database).
Status check_integrity(const std::string& path);

}  // namespace wirebox::storage
