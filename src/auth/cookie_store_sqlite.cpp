#include "auth/cookie_store.h"
#include "storage/sqlite.h"

namespace wirebox::auth {
namespace {

using storage::Connection;

class SqliteCookieStore : public CookieStore {
 public:
  explicit SqliteCookieStore(storage::Database& db) : db_(db) {}

  Status insert(const std::string& hash, const CookieRecord& r) override {
    return guard([&] { db_.write([&](Connection& c) { insert_row(c, hash, r); }); });
  }

  std::optional<CookieRecord> find(const std::string& hash) override {
    std::optional<CookieRecord> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(
          "SELECT user_id, created_at, expires_at, persistent, label, client_id, successor FROM auth_cookies"
          " WHERE hash = ?");
      st.bind(1, hash);
      if (st.step()) {
        out = CookieRecord{st.text(0), st.integer(1), st.integer(2), st.integer(3) != 0,
                           st.text(4),  st.text(5),    st.text(6)};
      }
    });
    return out;
  }

  Status bind_client(const std::string& hash, const std::string& client_id) override {
    return guard([&] {
      db_.write([&](Connection& c) {
        c.prepare("UPDATE auth_cookies SET client_id = ? WHERE hash = ?").bind(1, client_id).bind(2, hash).run();
      });
    });
  }

  Status remove(const std::string& hash) override {
    return guard([&] {
      db_.write([&](Connection& c) {
        std::string user;
        {
          auto st = c.prepare("SELECT user_id FROM auth_cookies WHERE hash = ?");
          st.bind(1, hash);
          if (!st.step()) return;
          user = st.text(0);
        }
        // Back to the first cookie of the chain (among the user's few cookies, by their index),
        // then forward through the successors, deleting each.
        std::string h = hash;
        for (int i = 0; i < 64; ++i) {
          auto st = c.prepare("SELECT hash FROM auth_cookies WHERE user_id = ? AND successor = ?");
          st.bind(1, user).bind(2, h);
          if (!st.step()) break;
          h = st.text(0);
        }
        for (int i = 0; i < 128 && !h.empty(); ++i) {
          std::string next;
          auto st = c.prepare("SELECT successor FROM auth_cookies WHERE hash = ?");
          st.bind(1, h);
          if (st.step()) next = st.text(0);
          c.prepare("DELETE FROM auth_cookies WHERE hash = ?").bind(1, h).run();
          h = next;
        }
      });
    });
  }

  Status remove_client(const std::string& user_id, const std::string& client_id, const std::string& label) override {
    return guard([&] {
      db_.write([&](Connection& c) {
        c.prepare("DELETE FROM auth_cookies WHERE user_id = ? AND (client_id = ? OR (? <> '' AND label = ?))")
            .bind(1, user_id)
            .bind(2, client_id)
            .bind(3, label)
            .bind(4, label)
            .run();
      });
    });
  }

  Status remove_user(const std::string& user_id) override {
    return guard([&] {
      db_.write([&](Connection& c) { c.prepare("DELETE FROM auth_cookies WHERE user_id = ?").bind(1, user_id).run(); });
    });
  }

  Status rotate(const std::string& old_hash, const std::string& new_hash, const CookieRecord& r) override {
    return guard([&] {
      db_.write([&](Connection& c) {
        insert_row(c, new_hash, r);
        c.prepare("UPDATE auth_cookies SET successor = ? WHERE hash = ?").bind(1, new_hash).bind(2, old_hash).run();
      });
    });
  }

  Status remove_expired(int64_t now) override {
    return guard([&] {
      db_.write([&](Connection& c) { c.prepare("DELETE FROM auth_cookies WHERE expires_at <= ?").bind(1, now).run(); });
    });
  }

 private:
  static void insert_row(Connection& c, const std::string& hash, const CookieRecord& r) {
    c.prepare(
         "INSERT INTO auth_cookies(hash, user_id, created_at, expires_at, persistent, label, client_id, successor)"
         " VALUES (?, ?, ?, ?, ?, ?, ?, '')")
        .bind(1, hash)
        .bind(2, r.user_id)
        .bind(3, r.created_at)
        .bind(4, r.expires_at)
        .bind(5, int64_t{r.persistent ? 1 : 0})
        .bind(6, r.label)
        .bind(7, r.client_id)
        .run();
  }

  template <class F>
  Status guard(F&& f) {
    try {
      f();
      return {};
    } catch (const storage::SqliteError& e) {
      return ApiError::internal(std::string("cookie store: ") + e.what());
    }
  }

  storage::Database& db_;
};

}  // namespace

storage::ModuleSchema cookie_schema() {
  return {"auth",
          {{1,
            "CREATE TABLE auth_cookies ("
            " hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at INTEGER NOT NULL,"
            " expires_at INTEGER NOT NULL, persistent INTEGER NOT NULL, label TEXT NOT NULL,"
            " client_id TEXT NOT NULL, successor TEXT NOT NULL);"
            "CREATE INDEX auth_cookies_user ON auth_cookies(user_id);"}}};
}

std::unique_ptr<CookieStore> make_sqlite_cookie_store(storage::Database& db) {
  return std::make_unique<SqliteCookieStore>(db);
}

}  // namespace wirebox::auth
