// AssetStore: the assets module's table — one row of metadata per stored asset (owner,
// visibility, retention, size, checksum, token). The bytes live in BlobDirectory; a row is
// written only after its file is in place, and removed before its file, so a row never points
// at a missing file. Thread-safe; mutations are committed when they return.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "assets/asset_key.h"
#include "core/api_error.h"
#include "storage/migrations.h"

namespace wirebox::storage {
class Database;
}

namespace wirebox::assets {

struct AssetRecord {
  std::string key;
  std::string owner;  // user id of the uploader
  bool is_public = false;
  Retention retention = Retention::kPersistent;
  uint64_t size = 0;
  std::string md5_base64;    // as sent in Content-MD5 and verified; also the ETag
  std::string content_type;  // of the uploaded part
  std::string token_hash;    // hex SHA-256 of the asset token; empty: no token
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // 0: never
};

class AssetStore {
 public:
  virtual ~AssetStore() = default;
  virtual Status insert(const AssetRecord& record) = 0;
  virtual std::optional<AssetRecord> find(const std::string& key) = 0;
  // Deletes the row; false if there was none.
  virtual Result<bool> remove(const std::string& key) = 0;
  virtual Status set_token_hash(const std::string& key, const std::string& token_hash) = 0;
  // Up to `limit` assets whose expiry is at or before now_ms, oldest expiry first.
  virtual std::vector<AssetRecord> expired(int64_t now_ms, size_t limit) = 0;
  virtual bool exists(const std::string& key) = 0;
  struct Usage {
    uint64_t assets = 0;
    uint64_t bytes = 0;
  };
  virtual Usage usage() = 0;
};

storage::ModuleSchema asset_schema();
std::unique_ptr<AssetStore> make_sqlite_asset_store(storage::Database& db);

}  // namespace wirebox::assets
