#include <nlohmann/json.hpp>

#include "clients/client_store.h"
#include "core/ids.h"
#include "core/time.h"
#include "storage/sqlite.h"

namespace wirebox::clients {
namespace {

using storage::Connection;
using storage::Statement;

constexpr const char* kClientColumns =
    "user_id, id, type, class, label, model, cookie_label, capabilities, created_at, last_active";

Client read_client(Statement& st) {
  Client c{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.text(5), st.text(6), {}, st.integer(8),
           st.integer(9)};
  auto caps = nlohmann::json::parse(st.text(7), nullptr, false);
  if (caps.is_array())
    for (const auto& x : caps)
      if (x.is_string()) c.capabilities.push_back(x.get<std::string>());
  return c;
}

std::string caps_json(const std::vector<std::string>& caps) { return nlohmann::json(caps).dump(); }

void upsert_prekey(Connection& c, const std::string& user_id, const std::string& client_id, const Prekey& p) {
  c.prepare("INSERT INTO prekeys(user_id, client_id, key_id, key) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(user_id, client_id, key_id) DO UPDATE SET key = excluded.key")
      .bind(1, user_id).bind(2, client_id).bind(3, p.id).bind(4, p.key).run();
}

class SqliteClientStore : public ClientStore {
 public:
  explicit SqliteClientStore(storage::Database& db) : db_(db) {}

  Result<Client> add(const std::string& user_id, NewClient n, int max_permanent, std::string* replaced_id) override {
    Client& cl = n.client;
    cl.user_id = user_id;
    cl.created_at_ms = now_ms();
    cl.last_active_ms = cl.created_at_ms;
    bool too_many = false;
    try {
      db_.write([&](Connection& c) {
        if (cl.type == "permanent") {
          auto st = c.prepare("SELECT COUNT(*) FROM clients WHERE user_id = ? AND type = 'permanent'");
          st.bind(1, user_id);
          st.step();
          if (st.integer(0) >= max_permanent) {
            too_many = true;
            return;
          }
        } else if (cl.type == "temporary") {
          auto st = c.prepare("SELECT id FROM clients WHERE user_id = ? AND type = 'temporary'");
          st.bind(1, user_id);
          if (st.step()) {
            std::string old = st.text(0);
            if (replaced_id) *replaced_id = old;
            delete_client(c, user_id, old);
          }
        }
        // Client ids are random 64-bit; retry on the (astronomically rare) collision.
        for (int attempt = 0;; ++attempt) {
          cl.id = new_client_id();
          auto exists = c.prepare("SELECT 1 FROM clients WHERE user_id = ? AND id = ?");
          exists.bind(1, user_id).bind(2, cl.id);
          if (!exists.step() || attempt > 8) break;
        }
        c.prepare(std::string("INSERT INTO clients(") + kClientColumns +
                  ", last_resort_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(1, user_id).bind(2, cl.id).bind(3, cl.type).bind(4, cl.cls).bind(5, cl.label).bind(6, cl.model)
            .bind(7, cl.cookie_label).bind(8, caps_json(cl.capabilities)).bind(9, cl.created_at_ms)
            .bind(10, cl.last_active_ms).bind(11, n.last_resort.key).run();
        for (const auto& p : n.prekeys) upsert_prekey(c, user_id, cl.id, p);
      });
    } catch (const storage::SqliteError& e) {
      return ApiError::internal(std::string("client store: ") + e.what());
    }
    if (too_many) return ApiError{403, "too-many-clients", "Too many clients"};
    return cl;
  }

  std::vector<Client> list(const std::string& user_id) override {
    std::vector<Client> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string("SELECT ") + kClientColumns + " FROM clients WHERE user_id = ? ORDER BY created_at");
      st.bind(1, user_id);
      while (st.step()) out.push_back(read_client(st));
    });
    return out;
  }

  std::map<std::string, std::vector<Client>> list_many(const std::vector<std::string>& user_ids) override {
    std::map<std::string, std::vector<Client>> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string("SELECT ") + kClientColumns + " FROM clients WHERE user_id = ? ORDER BY created_at");
      for (const auto& uid : user_ids) {
        st.reset();
        st.bind(1, uid);
        auto& v = out[uid];
        while (st.step()) v.push_back(read_client(st));
      }
    });
    return out;
  }

  std::optional<Client> find(const std::string& user_id, const std::string& client_id) override {
    std::optional<Client> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string("SELECT ") + kClientColumns + " FROM clients WHERE user_id = ? AND id = ?");
      st.bind(1, user_id).bind(2, client_id);
      if (st.step()) out = read_client(st);
    });
    return out;
  }

  Status update(const std::string& user_id, const std::string& client_id, const ClientUpdate& u) override {
    bool missing = false;
    try {
      db_.write([&](Connection& c) {
        auto exists = c.prepare("SELECT 1 FROM clients WHERE user_id = ? AND id = ?");
        exists.bind(1, user_id).bind(2, client_id);
        if (!exists.step()) {
          missing = true;
          return;
        }
        for (const auto& p : u.prekeys) upsert_prekey(c, user_id, client_id, p);
        if (u.last_resort)
          c.prepare("UPDATE clients SET last_resort_key = ? WHERE user_id = ? AND id = ?")
              .bind(1, u.last_resort->key).bind(2, user_id).bind(3, client_id).run();
        if (u.label)
          c.prepare("UPDATE clients SET label = ? WHERE user_id = ? AND id = ?")
              .bind(1, *u.label).bind(2, user_id).bind(3, client_id).run();
        if (u.capabilities)
          c.prepare("UPDATE clients SET capabilities = ? WHERE user_id = ? AND id = ?")
              .bind(1, caps_json(*u.capabilities)).bind(2, user_id).bind(3, client_id).run();
      });
    } catch (const storage::SqliteError& e) {
      return ApiError::internal(std::string("client store: ") + e.what());
    }
    if (missing) return ApiError{404, "client-not-found", "Client not found"};
    return {};
  }

  Status remove(const std::string& user_id, const std::string& client_id) override {
    try {
      db_.write([&](Connection& c) { delete_client(c, user_id, client_id); });
    } catch (const storage::SqliteError& e) {
      return ApiError::internal(std::string("client store: ") + e.what());
    }
    return {};
  }

  std::optional<Prekey> claim(const std::string& user_id, const std::string& client_id) override {
    std::optional<Prekey> out;
    db_.write([&](Connection& c) {
      auto st = c.prepare(
          "DELETE FROM prekeys WHERE rowid = (SELECT rowid FROM prekeys WHERE user_id = ? AND client_id = ?"
          " ORDER BY key_id LIMIT 1) RETURNING key_id, key");
      st.bind(1, user_id).bind(2, client_id);
      if (st.step()) {
        out = Prekey{st.integer(0), st.text(1)};
        st.run();  // finish the statement so the delete is part of this transaction
        return;
      }
      auto last = c.prepare("SELECT last_resort_key FROM clients WHERE user_id = ? AND id = ?");
      last.bind(1, user_id).bind(2, client_id);
      if (last.step()) out = Prekey{kLastResortPrekeyId, last.text(0)};
    });
    return out;
  }

  std::vector<int64_t> prekey_ids(const std::string& user_id, const std::string& client_id) override {
    std::vector<int64_t> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare("SELECT key_id FROM prekeys WHERE user_id = ? AND client_id = ? ORDER BY key_id");
      st.bind(1, user_id).bind(2, client_id);
      while (st.step()) out.push_back(st.integer(0));
      auto exists = c.prepare("SELECT 1 FROM clients WHERE user_id = ? AND id = ?");
      exists.bind(1, user_id).bind(2, client_id);
      if (exists.step()) out.push_back(kLastResortPrekeyId);
    });
    return out;
  }

  int64_t count() override {
    int64_t n = 0;
    db_.read([&](Connection& c) {
      auto st = c.prepare("SELECT COUNT(*) FROM clients");
      if (st.step()) n = st.integer(0);
    });
    return n;
  }

 private:
  static void delete_client(Connection& c, const std::string& user_id, const std::string& client_id) {
    c.prepare("DELETE FROM prekeys WHERE user_id = ? AND client_id = ?").bind(1, user_id).bind(2, client_id).run();
    c.prepare("DELETE FROM clients WHERE user_id = ? AND id = ?").bind(1, user_id).bind(2, client_id).run();
  }

  storage::Database& db_;
};

}  // namespace

storage::ModuleSchema client_schema() {
  return {"clients",
          {{1,
            "CREATE TABLE clients (user_id TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, class TEXT NOT NULL,"
            " label TEXT NOT NULL, model TEXT NOT NULL, cookie_label TEXT NOT NULL, capabilities TEXT NOT NULL,"
            " created_at INTEGER NOT NULL, last_active INTEGER NOT NULL, last_resort_key TEXT NOT NULL,"
            " PRIMARY KEY (user_id, id));"
            "CREATE TABLE prekeys (user_id TEXT NOT NULL, client_id TEXT NOT NULL, key_id INTEGER NOT NULL,"
            " key TEXT NOT NULL, PRIMARY KEY (user_id, client_id, key_id));"}}};
}

std::unique_ptr<ClientStore> make_sqlite_client_store(storage::Database& db) {
  return std::make_unique<SqliteClientStore>(db);
}

}  // namespace wirebox::clients
