#include "storage/sqlite.h"

#include <sqlite3.h>

namespace wirebox::storage {
namespace {

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  throw SqliteError(rc, std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

}  // namespace

bool SqliteError::is_constraint() const { return (code_ & 0xff) == SQLITE_CONSTRAINT; }

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, "prepare");
}

Statement::~Statement() {
  if (!cached_in_use_) {
    sqlite3_finalize(stmt_);
    return;
  }
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  *cached_in_use_ = false;
}

Statement& Statement::bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  int rc = sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) fail(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind_opt(int index, const std::optional<std::string>& text) {
  return text ? bind(index, std::string_view(*text)) : bind_null(index);
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, rc, "step");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::string Statement::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(stmt_, col));
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

std::optional<std::string> Statement::text_or_null(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

int64_t Statement::integer(int col) const { return sqlite3_column_int64(stmt_, col); }

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int64_t Statement::changes() const { return sqlite3_changes64(db_); }

Connection::~Connection() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached->stmt);
}

Statement Connection::prepare(std::string_view sql) {
  std::string key(sql);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCached) return Statement(db_, sql);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) fail(db_, rc, "prepare");
    auto cached = std::make_unique<Cached>();
    cached->stmt = stmt;
    it = cache_.emplace(std::move(key), std::move(cached)).first;
  }
  Cached& cached = *it->second;
  if (cached.in_use) return Statement(db_, sql);
  cached.in_use = true;
  return Statement(db_, cached.stmt, &cached.in_use);
}

void Connection::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw SqliteError(rc, "exec: " + msg);
  }
}

sqlite3* Database::open(const std::string& path, bool readonly) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX | (readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    throw SqliteError(rc, "open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  Connection c(db);
  if (!readonly) {
    c.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  } else {
    c.exec("PRAGMA foreign_keys=ON;");
  }
  return db;
}

Database::Database(const std::string& path, int readers) : path_(path) {
  writer_db_ = open(path, false);
  writer_ = std::make_unique<Connection>(writer_db_);
  for (int i = 0; i < readers; ++i) {
    sqlite3* r = open(path, true);
    reader_dbs_.push_back(r);
    readers_.push_back(std::make_unique<Connection>(r));
    idle_readers_.push_back(readers_.back().get());
  }
}

Database::~Database() {
  // Cached statements first: a handle with unfinalized statements does not close.
  readers_.clear();
  writer_.reset();
  for (sqlite3* r : reader_dbs_) sqlite3_close(r);
  sqlite3_close(writer_db_);
}

void Database::write(const std::function<void(Connection&)>& fn) {
  std::lock_guard<std::mutex> lock(write_mu_);
  writer_->prepare("BEGIN IMMEDIATE").run();
  try {
    fn(*writer_);
    writer_->prepare("COMMIT").run();
  } catch (...) {
    sqlite3_exec(writer_db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

Status Database::try_write(std::string_view what, const std::function<void(Connection&)>& fn) {
  try {
    write(fn);
  } catch (const SqliteError& e) {
    return ApiError::internal(std::string(what) + ": " + e.what());
  }
  return {};
}

void Database::read(const std::function<void(Connection&)>& fn) {
  Connection* c = nullptr;
  {
    std::unique_lock<std::mutex> lock(read_mu_);
    read_cv_.wait(lock, [&] { return !idle_readers_.empty(); });
    c = idle_readers_.back();
    idle_readers_.pop_back();
  }
  struct Return {
    Database* self;
    Connection* c;
    ~Return() {
      {
        std::lock_guard<std::mutex> lock(self->read_mu_);
        self->idle_readers_.push_back(c);
      }
      self->read_cv_.notify_one();
    }
  } giveback{this, c};
  c->prepare("BEGIN").run();
  try {
    fn(*c);
    c->prepare("COMMIT").run();
  } catch (...) {
    sqlite3_exec(c->raw(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

Status Database::snapshot_to(const std::string& path) const {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    rc = sqlite3_prepare_v2(db, "VACUUM INTO ?", -1, &st, nullptr);
    if (rc == SQLITE_OK) {
      sqlite3_bind_text(st, 1, path.c_str(), -1, SQLITE_TRANSIENT);
      rc = sqlite3_step(st);
      if (rc == SQLITE_DONE) rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
  }
  std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
  sqlite3_close(db);
  if (rc != SQLITE_OK) return ApiError::internal("database snapshot to " + path + ": " + msg);
  return {};
}

Status check_integrity(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::string problem;
  if (rc == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &st, nullptr);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(st, 0);
      problem = text ? reinterpret_cast<const char*>(text) : "";
      if (problem == "ok") problem.clear();
    } else {
      problem = sqlite3_errmsg(db);
    }
    sqlite3_finalize(st);
  } else {
    problem = db ? sqlite3_errmsg(db) : "out of memory";
  }
  sqlite3_close(db);
  if (!problem.empty()) return ApiError::bad_request("database " + path + " fails the integrity check: " + problem);
  return {};
}

}  // namespace wirebox::storage
