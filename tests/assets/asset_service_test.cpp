// AssetService pieces that need no HTTP: the retention sweeper, the start-up clean-up of files
// an interrupted run left behind, and the BlobDirectory commit protocol.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "assets/asset_service.h"
#include "core/time.h"
#include "storage/sqlite.h"
#include "support/temp_dir.h"

using namespace wirebox;
using namespace wirebox::assets;
namespace fs = std::filesystem;

namespace {

size_t files_under(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) ++n;
  return n;
}

// What an upload's writer does to the temporary file, in one go.
void write_bytes(TempBlob& blob, const std::string& bytes) {
  REQUIRE(::write(blob.fd(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
}

struct Fixture {
  test::TempDir dir;
  storage::Database db{dir.path() + "/wirebox.db", 2};
  std::unique_ptr<teams::TeamStore> teams;
  std::unique_ptr<AssetStore> store;
  std::unique_ptr<BlobDirectory> blobs;
  std::unique_ptr<AssetService> service;

  Fixture() {
    storage::apply_migrations(db, {teams::team_schema(), asset_schema()});
    teams = teams::make_sqlite_team_store(db);
    store = make_sqlite_asset_store(db);
    blobs = std::make_unique<BlobDirectory>(dir.path() + "/assets");
    AssetOptions o;
    o.domain = "wirebox.localhost";
    service = std::make_unique<AssetService>(o, *store, *blobs, *teams);
  }

  AssetRecord put(Retention retention, int64_t expires_ms, const std::string& bytes = "ciphertext") {
    AssetRecord r;
    r.key = new_asset_key(retention);
    r.owner = "00000000-0000-4000-8000-000000000001";
    r.retention = retention;
    r.size = bytes.size();
    r.md5_base64 = "x";
    r.content_type = "application/octet-stream";
    r.created_ms = now_ms();
    r.expires_ms = expires_ms;
    auto blob = blobs->create_temp();
    REQUIRE(blob.ok());
    write_bytes(*blob.value(), bytes);
    REQUIRE(blobs->commit(*blob.value(), r.key).ok());
    REQUIRE(store->insert(r).ok());
    return r;
  }
};

}  // namespace

TEST_CASE("the sweeper deletes expired assets, row and file, and nothing else") {
  Fixture f;
  int64_t now = now_ms();
  int64_t day = 24LL * 3600 * 1000;
  auto kept = f.put(Retention::kPersistent, 0);
  auto volatile_asset = f.put(Retention::kVolatile, now + 28 * day);
  auto expiring = f.put(Retention::kExpiring, now + 2 * day);
  REQUIRE(files_under(f.dir.path() + "/assets") == 3);

  CHECK(f.service->sweep(now) == 0);
  CHECK(f.service->sweep(now + 3 * day) == 1);
  CHECK_FALSE(f.store->exists(expiring.key));
  CHECK_FALSE(f.blobs->open(expiring.key).has_value());
  CHECK(f.store->exists(volatile_asset.key));

  CHECK(f.service->sweep(now + 29 * day) == 1);
  CHECK_FALSE(f.store->exists(volatile_asset.key));
  CHECK(f.store->exists(kept.key));
  CHECK(f.blobs->open(kept.key).has_value());
  CHECK(files_under(f.dir.path() + "/assets") == 1);
  CHECK(f.store->usage().assets == 1);
}

TEST_CASE("start-up removes partial uploads and files without metadata") {
  test::TempDir dir;
  std::string key;
  {
    Fixture f;
    key = f.put(Retention::kEternal, 0).key;
    // A committed file whose row never got written (crash between rename and insert).
    auto blob = f.blobs->create_temp();
    REQUIRE(blob.ok());
    write_bytes(*blob.value(), "abc");
    std::string orphan = new_asset_key(Retention::kPersistent);
    REQUIRE(f.blobs->commit(*blob.value(), orphan).ok());
    // An upload in progress when the process died.
    std::ofstream(f.dir.path() + "/assets/tmp/deadbeef") << "partial";
    fs::copy(f.dir.path(), dir.path() + "/copy", fs::copy_options::recursive);
  }
  storage::Database db(dir.path() + "/copy/wirebox.db", 2);
  auto teams = teams::make_sqlite_team_store(db);
  auto store = make_sqlite_asset_store(db);
  BlobDirectory blobs(dir.path() + "/copy/assets");
  CHECK(blobs.leftovers_removed() == 1);
  AssetService service(AssetOptions{}, *store, blobs, *teams);
  CHECK(service.remove_orphans() == 1);
  CHECK(files_under(dir.path() + "/copy/assets") == 1);
  CHECK(blobs.open(key).has_value());
}

TEST_CASE("an uncommitted temp blob leaves nothing behind") {
  test::TempDir dir;
  BlobDirectory blobs(dir.path() + "/assets");
  {
    auto blob = blobs.create_temp();
    REQUIRE(blob.ok());
    write_bytes(*blob.value(), "half an upload");
    CHECK(files_under(dir.path() + "/assets") == 1);
  }
  CHECK(files_under(dir.path() + "/assets") == 0);
  CHECK_FALSE(blobs.open("3-2-00000000-0000-4000-8000-000000000000").has_value());
  CHECK_FALSE(blobs.open("../wirebox.db").has_value());
}

TEST_CASE("shard directories exist from the start; a removed one is made again at commit") {
  test::TempDir dir;
  BlobDirectory blobs(dir.path() + "/assets");
  size_t shards = 0;
  for (const auto& e : fs::directory_iterator(dir.path() + "/assets"))
    if (e.is_directory() && e.path().filename() != "tmp") ++shards;
  CHECK(shards == 256);

  std::string key = new_asset_key(Retention::kPersistent);
  fs::remove(dir.path() + "/assets/" + key.substr(4, 2));
  auto blob = blobs.create_temp();
  REQUIRE(blob.ok());
  write_bytes(*blob.value(), "ciphertext");
  REQUIRE(blobs.commit(*blob.value(), key).ok());
  CHECK(blobs.open(key).has_value());
}
