#include "assets/asset_store.h"
#include "storage/sqlite.h"

namespace wirebox::assets {
namespace {

using storage::Connection;

constexpr const char* kColumns =
    "key, owner, public, retention, size, md5, content_type, token_hash, created_at, expires_at";

AssetRecord read_record(storage::Statement& st) {
  AssetRecord r;
  r.key = st.text(0);
  r.owner = st.text(1);
  r.is_public = st.integer(2) != 0;
  r.retention = static_cast<Retention>(st.integer(3));
  r.size = static_cast<uint64_t>(st.integer(4));
  r.md5_base64 = st.text(5);
  r.content_type = st.text(6);
  r.token_hash = st.text(7);
  r.created_ms = st.integer(8);
  r.expires_ms = st.integer(9);
  return r;
}

class SqliteAssetStore : public AssetStore {
 public:
  explicit SqliteAssetStore(storage::Database& db) : db_(db) {}

  Status insert(const AssetRecord& r) override {
    return db_.try_write("asset store", [&](Connection& c) {
      c.prepare("INSERT INTO assets(" + std::string(kColumns) + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
          .bind(1, r.key).bind(2, r.owner).bind(3, r.is_public ? 1 : 0).bind(4, static_cast<int>(r.retention))
          .bind(5, static_cast<int64_t>(r.size)).bind(6, r.md5_base64).bind(7, r.content_type).bind(8, r.token_hash)
          .bind(9, r.created_ms).bind(10, r.expires_ms).run();
    });
  }

  std::optional<AssetRecord> find(const std::string& key) override {
    std::optional<AssetRecord> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare("SELECT " + std::string(kColumns) + " FROM assets WHERE key = ?");
      st.bind(1, key);
      if (st.step()) out = read_record(st);
    });
    return out;
  }

  Result<bool> remove(const std::string& key) override {
    bool removed = false;
    Status s = db_.try_write("asset store", [&](Connection& c) {
      auto st = c.prepare("DELETE FROM assets WHERE key = ?");
      st.bind(1, key).run();
      removed = st.changes() > 0;
    });
    if (!s) return s.error();
    return removed;
  }

  Status set_token_hash(const std::string& key, const std::string& token_hash) override {
    return db_.try_write("asset store", [&](Connection& c) {
      c.prepare("UPDATE assets SET token_hash = ? WHERE key = ?").bind(1, token_hash).bind(2, key).run();
    });
  }

  std::vector<AssetRecord> expired(int64_t now_ms, size_t limit) override {
    std::vector<AssetRecord> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare("SELECT " + std::string(kColumns) +
                          " FROM assets WHERE expires_at > 0 AND expires_at <= ? ORDER BY expires_at LIMIT ?");
      st.bind(1, now_ms).bind(2, static_cast<int64_t>(limit));
      while (st.step()) out.push_back(read_record(st));
    });
    return out;
  }

  bool exists(const std::string& key) override {
    bool found = false;
    db_.read([&](Connection& c) {
      auto st = c.prepare("SELECT 1 FROM assets WHERE key = ?");
      st.bind(1, key);
      found = st.step();
    });
    return found;
  }

  Usage usage() override {
    Usage u;
    db_.read([&](Connection& c) {
      auto st = c.prepare("SELECT count(*), coalesce(sum(size), 0) FROM assets");
      if (st.step()) u = {static_cast<uint64_t>(st.integer(0)), static_cast<uint64_t>(st.integer(1))};
    });
    return u;
  }

 private:
  storage::Database& db_;
};

}  // namespace

storage::ModuleSchema asset_schema() {
  return {"assets",
          {{1,
            "CREATE TABLE assets (key TEXT PRIMARY KEY, owner TEXT NOT NULL, public INTEGER NOT NULL,"
            " retention INTEGER NOT NULL, size INTEGER NOT NULL, md5 TEXT NOT NULL, content_type TEXT NOT NULL,"
            " token_hash TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);"
            "CREATE INDEX assets_expiry ON assets(expires_at) WHERE expires_at > 0;"
            "CREATE INDEX assets_owner ON assets(owner);"}}};
}

std::unique_ptr<AssetStore> make_sqlite_asset_store(storage::Database& db) {
  return std::make_unique<SqliteAssetStore>(db);
}

}  // namespace wirebox::assets
