#include "core/ids.h"
#include "core/time.h"
#include "storage/sqlite.h"
#include "users/user_store.h"

namespace wirebox::users {
namespace {

using storage::Connection;
using storage::Statement;

constexpr const char* kUserColumns =
    "id, name, email, handle, accent_id, assets, locale, team_id, status, created_at";
// The same, where users_search (which has name and handle too) is joined in.
constexpr const char* kUserColumnsOfUsers =
    "users.id, users.name, users.email, users.handle, users.accent_id, users.assets, users.locale, users.team_id,"
    " users.status, users.created_at";

User read_user(Statement& st) {
  return User{st.text(0), st.text(1), st.text(2), st.text(3), st.integer(4),
              st.text(5), st.text(6), st.text(7), st.text(8), st.integer(9)};
}

// FTS5 query: every word becomes a quoted prefix term, so user input can't inject syntax.
std::string fts_query(const std::string& q) {
  std::string out, word;
  auto flush = [&] {
    if (word.empty()) return;
    if (!out.empty()) out += " ";
    out += "\"" + word + "\"*";
    word.clear();
  };
  for (char c : q) {
    if (c == ' ' || c == '\t' || c == '"' || c == '@') flush();
    else word.push_back(c);
  }
  flush();
  return out;
}

class SqliteUserStore : public UserStore {
 public:
  explicit SqliteUserStore(storage::Database& db) : db_(db) {}

  Result<User> create(const NewUser& n) override {
    User u;
    u.id = new_uuid_v4();
    u.name = n.name;
    u.email = n.email;
    u.accent_id = n.accent_id;
    u.locale = n.locale;
    u.team_id = n.team_id;
    u.created_at_ms = now_ms();
    try {
      db_.write([&](Connection& c) {
        c.prepare("INSERT INTO users(id, name, email, handle, password_hash, accent_id, assets, locale, team_id, status,"
                  " created_at) VALUES (?, ?, ?, NULL, ?, ?, '[]', ?, ?, 'active', ?)")
            .bind(1, u.id).bind(2, u.name).bind_opt(3, u.email.empty() ? std::nullopt : std::optional<std::string>(u.email)).bind(4, n.password_hash).bind(5, u.accent_id)
            .bind(6, u.locale).bind(7, u.team_id).bind(8, u.created_at_ms).run();
        reindex(c, u.id, u.name, "");
      });
    } catch (const storage::SqliteError& e) {
      if (e.is_constraint()) return ApiError{409, "key-exists", "The given e-mail address is in use."};
      return ApiError::internal(std::string("user store: ") + e.what());
    }
    return u;
  }

  std::optional<User> find(const std::string& id) override { return one("id = ?", id); }
  std::optional<User> find_by_email(const std::string& email) override { return one("email = ?", email); }
  std::optional<User> find_by_handle(const std::string& handle) override { return one("handle = ?", handle); }

  std::vector<User> find_many(const std::vector<std::string>& ids) override {
    std::vector<User> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?");
      for (const auto& id : ids) {
        st.reset();
        st.bind(1, id);
        if (st.step()) out.push_back(read_user(st));
      }
    });
    return out;
  }

  std::optional<std::string> password_hash(const std::string& id) override {
    std::optional<std::string> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare("SELECT password_hash FROM users WHERE id = ?");
      st.bind(1, id);
      if (st.step()) out = st.text(0);
    });
    return out;
  }

  Status set_team(const std::string& id, const std::string& team_id) override {
    return db_.try_write("user store", [&](Connection& c) {
      c.prepare("UPDATE users SET team_id = ? WHERE id = ?").bind(1, team_id).bind(2, id).run();
    });
  }

  Status update_profile(const std::string& id, const ProfileUpdate& u) override {
    return db_.try_write("user store", [&](Connection& c) {
      if (u.name) c.prepare("UPDATE users SET name = ? WHERE id = ?").bind(1, *u.name).bind(2, id).run();
      if (u.accent_id) c.prepare("UPDATE users SET accent_id = ? WHERE id = ?").bind(1, *u.accent_id).bind(2, id).run();
      if (u.assets_json) c.prepare("UPDATE users SET assets = ? WHERE id = ?").bind(1, *u.assets_json).bind(2, id).run();
      if (u.name) reindex_from_row(c, id);
    });
  }

  Status set_handle(const std::string& id, const std::string& handle) override {
    try {
      db_.write([&](Connection& c) {
        c.prepare("UPDATE users SET handle = ? WHERE id = ?").bind(1, handle).bind(2, id).run();
        reindex_from_row(c, id);
      });
    } catch (const storage::SqliteError& e) {
      if (e.is_constraint()) return ApiError{409, "handle-exists", "The given handle is already taken."};
      return ApiError::internal(std::string("user store: ") + e.what());
    }
    return {};
  }

  bool handle_taken(const std::string& handle) override { return one("handle = ?", handle).has_value(); }

  Status set_status(const std::string& id, const std::string& status) override {
    return db_.try_write("user store", [&](Connection& c) {
      c.prepare("UPDATE users SET status = ? WHERE id = ?").bind(1, status).bind(2, id).run();
    });
  }

  Status set_password_hash(const std::string& id, const std::string& hash) override {
    return db_.try_write("user store", [&](Connection& c) {
      c.prepare("UPDATE users SET password_hash = ? WHERE id = ?").bind(1, hash).bind(2, id).run();
    });
  }

  Status remove(const std::string& id) override {
    return db_.try_write("user store", [&](Connection& c) {
      c.prepare("DELETE FROM user_properties WHERE user_id = ?").bind(1, id).run();
      c.prepare("DELETE FROM users_search WHERE user_id = ?").bind(1, id).run();
      c.prepare("DELETE FROM users WHERE id = ?").bind(1, id).run();
    });
  }

  std::vector<User> search(const std::string& query, size_t limit, const std::string& searcher_id,
                           const std::string& searcher_team) override {
    std::vector<User> out;
    std::string q = fts_query(query);
    if (q.empty()) return out;
    std::string exact_handle = query.size() > 1 && query.front() == '@' ? query.substr(1) : query;
    for (char& ch : exact_handle) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    // Filtered before the limit, in rank order (filtering after a LIMIT on the index gave short
    // pages, and IN (...) lost the order).
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string("SELECT ") + kUserColumnsOfUsers +
                          " FROM users_search JOIN users ON users.id = users_search.user_id"
                          " WHERE users_search MATCH ? AND users.id != ? AND users.status = 'active'"
                          " AND (users.team_id IS NULL OR users.team_id = '' OR users.team_id = ? OR users.handle = ?)"
                          " ORDER BY rank LIMIT ?");
      st.bind(1, q).bind(2, searcher_id).bind(3, searcher_team.empty() ? std::string("\n") : searcher_team)
          .bind(4, exact_handle).bind(5, static_cast<int64_t>(limit));
      while (st.step()) out.push_back(read_user(st));
    });
    return out;
  }

  int64_t count() override {
    int64_t n = 0;
    db_.read([&](Connection& c) {
      auto st = c.prepare("SELECT COUNT(*) FROM users");
      if (st.step()) n = st.integer(0);
    });
    return n;
  }

  std::vector<User> list(size_t offset, size_t limit) override {
    std::vector<User> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string("SELECT ") + kUserColumns +
                          " FROM users ORDER BY created_at, id LIMIT ? OFFSET ?");
      st.bind(1, static_cast<int64_t>(limit)).bind(2, static_cast<int64_t>(offset));
      while (st.step()) out.push_back(read_user(st));
    });
    return out;
  }

  std::vector<std::string> ids_with_status(const std::string& status) override {
    std::vector<std::string> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare("SELECT id FROM users WHERE status = ?");
      st.bind(1, status);
      while (st.step()) out.push_back(st.text(0));
    });
    return out;
  }

  Status mark_deleted(const std::string& id) override {
    return db_.try_write("user store", [&](Connection& c) {
      c.prepare("UPDATE users SET status = 'deleted', name = 'default', email = NULL, handle = NULL,"
                " assets = '[]', password_hash = '' WHERE id = ?")
          .bind(1, id).run();
      c.prepare("DELETE FROM user_properties WHERE user_id = ?").bind(1, id).run();
      c.prepare("DELETE FROM users_search WHERE user_id = ?").bind(1, id).run();
    });
  }

  std::vector<std::string> property_keys(const std::string& user_id) override {
    std::vector<std::string> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare("SELECT key FROM user_properties WHERE user_id = ? ORDER BY key");
      st.bind(1, user_id);
      while (st.step()) out.push_back(st.text(0));
    });
    return out;
  }

  std::optional<std::string> property(const std::string& user_id, const std::string& key) override {
    std::optional<std::string> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare("SELECT value FROM user_properties WHERE user_id = ? AND key = ?");
      st.bind(1, user_id).bind(2, key);
      if (st.step()) out = st.text(0);
    });
    return out;
  }

  Status set_property(const std::string& user_id, const std::string& key, const std::string& value,
                      size_t max_properties) override {
    bool too_many = false;
    Status s = db_.try_write("user store", [&](Connection& c) {
      auto count = c.prepare("SELECT COUNT(*) FROM user_properties WHERE user_id = ? AND key != ?");
      count.bind(1, user_id).bind(2, key);
      count.step();
      if (static_cast<size_t>(count.integer(0)) >= max_properties) {
        too_many = true;
        return;
      }
      c.prepare("INSERT INTO user_properties(user_id, key, value) VALUES (?, ?, ?)"
                " ON CONFLICT(user_id, key) DO UPDATE SET value = excluded.value")
          .bind(1, user_id).bind(2, key).bind(3, value).run();
    });
    if (too_many) return ApiError{403, "too-many-properties", "Too many properties"};
    return s;
  }

  Status delete_property(const std::string& user_id, const std::string& key) override {
    return db_.try_write("user store", [&](Connection& c) {
      c.prepare("DELETE FROM user_properties WHERE user_id = ? AND key = ?").bind(1, user_id).bind(2, key).run();
    });
  }

  Status clear_properties(const std::string& user_id) override {
    return db_.try_write("user store", [&](Connection& c) {
      c.prepare("DELETE FROM user_properties WHERE user_id = ?").bind(1, user_id).run();
    });
  }

 private:
  std::optional<User> one(const char* where, const std::string& arg) {
    std::optional<User> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string("SELECT ") + kUserColumns + " FROM users WHERE " + where);
      st.bind(1, arg);
      if (st.step()) out = read_user(st);
    });
    return out;
  }

  static void reindex(Connection& c, const std::string& id, const std::string& name, const std::string& handle) {
    c.prepare("DELETE FROM users_search WHERE user_id = ?").bind(1, id).run();
    c.prepare("INSERT INTO users_search(user_id, name, handle) VALUES (?, ?, ?)")
        .bind(1, id).bind(2, name).bind(3, handle).run();
  }

  static void reindex_from_row(Connection& c, const std::string& id) {
    auto st = c.prepare("SELECT name, COALESCE(handle, '') FROM users WHERE id = ?");
    st.bind(1, id);
    if (st.step()) reindex(c, id, st.text(0), st.text(1));
  }

  storage::Database& db_;
};

}  // namespace

storage::ModuleSchema user_schema() {
  return {"users",
          {{1,
            "CREATE TABLE users ("
            " id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT COLLATE NOCASE UNIQUE,"
            " handle TEXT COLLATE NOCASE UNIQUE, password_hash TEXT NOT NULL, accent_id INTEGER NOT NULL,"
            " assets TEXT NOT NULL, locale TEXT NOT NULL, team_id TEXT NOT NULL, status TEXT NOT NULL,"
            " created_at INTEGER NOT NULL);"
            "CREATE TABLE user_properties (user_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
            " PRIMARY KEY (user_id, key));"
            "CREATE VIRTUAL TABLE users_search USING fts5(user_id UNINDEXED, name, handle,"
            " tokenize = 'unicode61 remove_diacritics 2');"}}};
}

std::unique_ptr<UserStore> make_sqlite_user_store(storage::Database& db) {
  return std::make_unique<SqliteUserStore>(db);
}

}  // namespace wirebox::users
