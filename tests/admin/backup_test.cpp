// Backup archive checks on hand-made archives: paths that escape or that a backup never holds,
// links, manifest mismatches; a refused archive leaves the data directory untouched.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "admin/backup.h"
#include "admin/data_dir_lock.h"
#include "core/encoding.h"
#include "support/temp_dir.h"

using namespace wirebox;
namespace fs = std::filesystem;

namespace {

struct Entry {
  std::string path, data;
  bool symlink = false;
};

std::string hex_sha256(const std::string& data) { return hex_encode(sha256(data)); }

void write_archive(const std::string& file, const std::vector<Entry>& entries) {
  archive* a = archive_write_new();
  REQUIRE(archive_write_add_filter_gzip(a) == ARCHIVE_OK);
  REQUIRE(archive_write_set_format_pax_restricted(a) == ARCHIVE_OK);
  REQUIRE(archive_write_open_filename(a, file.c_str()) == ARCHIVE_OK);
  for (const auto& e : entries) {
    archive_entry* en = archive_entry_new();
    archive_entry_set_pathname(en, e.path.c_str());
    if (e.symlink) {
      archive_entry_set_filetype(en, AE_IFLNK);
      archive_entry_set_symlink(en, "/etc/passwd");
      archive_entry_set_size(en, 0);
    } else {
      archive_entry_set_filetype(en, AE_IFREG);
      archive_entry_set_size(en, static_cast<la_int64_t>(e.data.size()));
    }
    archive_entry_set_perm(en, 0600);
    REQUIRE(archive_write_header(a, en) == ARCHIVE_OK);
    if (!e.symlink) REQUIRE(archive_write_data(a, e.data.data(), e.data.size()) == static_cast<la_ssize_t>(e.data.size()));
    archive_entry_free(en);
  }
  REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_write_free(a);
}

std::string manifest_for(const std::vector<Entry>& files) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : files)
    list.push_back({{"path", f.path}, {"size", f.data.size()}, {"sha256", hex_sha256(f.data)}});
  return nlohmann::json{{"format", "wirebox-backup"}, {"version", 1}, {"domain", "wirebox.localhost"}, {"files", list}}
      .dump();
}

// A real (tiny) SQLite database file's bytes.
std::string database_bytes(const test::TempDir& tmp) {
  std::string path = tmp.file("src.db");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (42);", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("a well-formed archive verifies and restores, the previous data moved aside") {
  test::TempDir tmp;
  std::vector<Entry> files = {{"wirebox.db", database_bytes(tmp)}, {"events/data.mdb", "lmdb bytes"},
                              {"assets/a/b/key", "asset bytes"}, {"secrets/token-signing.pem", "key"}};
  auto with_manifest = files;
  with_manifest.push_back({"MANIFEST.json", manifest_for(files)});
  write_archive(tmp.file("ok.tar.gz"), with_manifest);
  auto m = admin::verify_backup(tmp.file("ok.tar.gz"));
  REQUIRE(m.ok());
  CHECK(m->files.size() == 4);

  std::string data = tmp.file("data");
  fs::create_directories(data + "/assets/old");
  test::write_file(data + "/wirebox.db", "old database");
  test::write_file(data + "/wirebox.db-wal", "old wal");
  test::write_file(data + "/assets/old/x", "old asset");
  auto r = admin::restore_backup(tmp.file("ok.tar.gz"), data);
  REQUIRE(r.ok());
  std::ifstream restored(data + "/assets/a/b/key");
  std::string text((std::istreambuf_iterator<char>(restored)), std::istreambuf_iterator<char>());
  CHECK(text == "asset bytes");
  CHECK_FALSE(fs::exists(data + "/wirebox.db-wal"));
  CHECK_FALSE(fs::exists(data + "/assets/old"));
  CHECK(fs::exists(r->previous_dir + "/wirebox.db-wal"));
  CHECK(fs::exists(r->previous_dir + "/assets/old/x"));
  CHECK_FALSE(fs::exists(data + "/.restore-staging"));
}

TEST_CASE("a restore that cannot move an item puts the data directory back as it was") {
  // An assets directory on its own mount point cannot be renamed (EBUSY). The restore used to
  // stop there with wirebox.db and events already moved aside: the daemon then started on a new,
  // empty database and deleted every asset as an orphan.
  test::TempDir tmp;
  std::vector<Entry> files = {{"wirebox.db", database_bytes(tmp)}, {"assets/a/b/key", "asset bytes"}};
  auto with_manifest = files;
  with_manifest.push_back({"MANIFEST.json", manifest_for(files)});
  write_archive(tmp.file("ok.tar.gz"), with_manifest);
  std::string data = tmp.file("data");
  fs::create_directories(data + "/assets");
  fs::create_directories(data + "/events");
  test::write_file(data + "/wirebox.db", "old database");
  test::write_file(data + "/events/data.mdb", "old events");
  if (::mount("none", (data + "/assets").c_str(), "tmpfs", 0, nullptr) != 0) {
    WARN("cannot mount a tmpfs here (" << std::strerror(errno) << "): not tested");
    return;
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{data + "/assets"};
  test::write_file(data + "/assets/old-asset", "old asset");

  auto r = admin::restore_backup(tmp.file("ok.tar.gz"), data);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("the data directory is as it was"));
  CHECK(test::read_file(data + "/wirebox.db") == "old database");
  CHECK(test::read_file(data + "/events/data.mdb") == "old events");
  CHECK(test::read_file(data + "/assets/old-asset") == "old asset");
  for (const auto& e : fs::directory_iterator(data)) {
    INFO(e.path().string());
    CHECK(e.path().filename().string().rfind(".restore-", 0) != 0);  // nothing left behind
  }
}

TEST_CASE("archives a backup never produces are refused before anything is written") {
  test::TempDir tmp;
  std::string db = database_bytes(tmp);
  std::vector<Entry> base = {{"wirebox.db", db}};
  struct Case {
    const char* name;
    std::vector<Entry> entries;
  };
  std::vector<Case> cases = {
      {"escaping path", {{"wirebox.db", db}, {"../escape", "x"}, {"MANIFEST.json", manifest_for(base)}}},
      {"absolute path", {{"wirebox.db", db}, {"/etc/cron.d/x", "x"}, {"MANIFEST.json", manifest_for(base)}}},
      {"unknown top-level", {{"wirebox.db", db}, {"other/file", "x"}, {"MANIFEST.json", manifest_for(base)}}},
      {"upload in progress", {{"wirebox.db", db}, {"assets/tmp/x", "x"}, {"MANIFEST.json", manifest_for(base)}}},
      {"symlink", {{"wirebox.db", db}, {"assets/link", "", true}, {"MANIFEST.json", manifest_for(base)}}},
      {"no manifest", {{"wirebox.db", db}}},
      {"file missing from the manifest", {{"wirebox.db", db}, {"assets/k", "x"}, {"MANIFEST.json", manifest_for(base)}}},
      {"manifest lists a file not there",
       {{"wirebox.db", db}, {"MANIFEST.json", manifest_for({{"wirebox.db", db}, {"assets/k", "x"}})}}},
      {"checksum mismatch", {{"wirebox.db", db + "tampered"}, {"MANIFEST.json", manifest_for(base)}}},
      {"entry after the manifest", {{"MANIFEST.json", manifest_for(base)}, {"wirebox.db", db}}},
      {"no database", {{"assets/k", "x"}, {"MANIFEST.json", manifest_for({{"assets/k", "x"}})}}},
      {"manifest not json", {{"wirebox.db", db}, {"MANIFEST.json", "{nope"}}},
  };
  std::string data = tmp.file("data");
  fs::create_directories(data);
  test::write_file(data + "/wirebox.db", "current");
  for (const auto& c : cases) {
    INFO(c.name);
    std::string file = tmp.file("bad.tar.gz");
    fs::remove(file);
    write_archive(file, c.entries);
    auto v = admin::verify_backup(file);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().label == "invalid-backup");
    auto r = admin::restore_backup(file, data);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().label == "invalid-backup");
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(data)) names.push_back(e.path().filename().string());
    CHECK(names == std::vector<std::string>{"wirebox.db"});
  }
  // A database that fails SQLite's integrity check is refused after extraction; nothing moves.
  std::vector<Entry> not_db = {{"wirebox.db", "not a database at all"}};
  auto entries = not_db;
  entries.push_back({"MANIFEST.json", manifest_for(not_db)});
  write_archive(tmp.file("notdb.tar.gz"), entries);
  auto r = admin::restore_backup(tmp.file("notdb.tar.gz"), data);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().label == "invalid-backup");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(data)) names.push_back(e.path().filename().string());
  CHECK(names == std::vector<std::string>{"wirebox.db"});
}

TEST_CASE("the data directory lock is exclusive and released with its holder") {
  test::TempDir tmp;
  {
    auto first = admin::DataDirLock::try_acquire(tmp.path());
    REQUIRE(first.ok());
    auto second = admin::DataDirLock::try_acquire(tmp.path());
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().label == "data-dir-busy");
  }
  CHECK(admin::DataDirLock::try_acquire(tmp.path()).ok());
}

TEST_CASE("root taking the data directory lock leaves the lock file to the directory's owner") {
  if (::geteuid() != 0) {
    WARN("not root: not tested");
    return;
  }
  test::TempDir tmp;
  std::string data = tmp.file("data");
  fs::create_directories(data);
  REQUIRE(::chown(data.c_str(), 65534, 65534) == 0);
  {
    auto lock = admin::DataDirLock::try_acquire(data);
    REQUIRE(lock.ok());
  }
  struct stat st {};
  REQUIRE(::stat((data + "/wireboxd.lock").c_str(), &st) == 0);
  CHECK(st.st_uid == 65534);  // root-owned 0600, the daemon running as the owner could not open it
  CHECK(st.st_gid == 65534);
}
