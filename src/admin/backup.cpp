#include "admin/backup.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "core/encoding.h"
#include "core/time.h"
#include "storage/sqlite.h"

namespace wirebox::admin {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kManifestName = "MANIFEST.json";
constexpr size_t kChunk = 256 * 1024;
// The top-level items a backup may hold; everything else in an archive is refused.
const std::vector<std::string> kRestoredItems = {"wirebox.db", "events", "assets", "secrets", "tls"};

ApiError invalid(const std::string& what) { return {400, "invalid-backup", what}; }
ApiError io_error(const std::string& what) { return ApiError::internal(what); }
std::string errno_text() { return std::strerror(errno); }

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void update(const char* data, size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  std::string hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), out, &len);
    return hex_encode(std::string_view(reinterpret_cast<const char*>(out), len));
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// A path an archive may hold: relative, no empty/./.. components, under a known item.
bool allowed_path(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (part.empty() || part == "." || part == "..") return false;
    i = j + 1;
  }
  if (path == "wirebox.db" || path == "events/data.mdb") return true;
  if (path.rfind("assets/tmp/", 0) == 0) return false;
  for (const char* dir : {"assets/", "secrets/", "tls/"})
    if (path.rfind(dir, 0) == 0) return true;
  return false;
}

json manifest_json(const BackupManifest& m) {
  json files = json::array();
  for (const auto& f : m.files) files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  return {{"format", "wirebox-backup"}, {"version", 1}, {"created_at", iso8601_ms(m.created_at_ms)},
          {"created_at_ms", m.created_at_ms}, {"domain", m.domain}, {"files", files}};
}

Result<BackupManifest> parse_manifest(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid("MANIFEST.json is not a JSON object");
  if (j.value("format", "") != "wirebox-backup") return invalid("MANIFEST.json is not a wirebox backup manifest");
  if (!j["version"].is_number_integer() || j["version"].get<int>() != 1)
    return invalid("unsupported backup format version " + j["version"].dump());
  BackupManifest m;
  if (j.contains("created_at_ms") && j["created_at_ms"].is_number_integer()) m.created_at_ms = j["created_at_ms"];
  if (j.contains("domain") && j["domain"].is_string()) m.domain = j["domain"];
  if (!j["files"].is_array()) return invalid("MANIFEST.json has no files list");
  for (const auto& f : j["files"]) {
    if (!f.is_object() || !f["path"].is_string() || !f["size"].is_number_integer() || !f["sha256"].is_string())
      return invalid("MANIFEST.json has a malformed file entry");
    m.files.push_back({f["path"], f["size"], f["sha256"]});
  }
  return m;
}

// ---- writing ----

class ArchiveWriter {
 public:
  Status open(const std::string& path) {
    a_ = archive_write_new();
    if (archive_write_add_filter_gzip(a_) != ARCHIVE_OK || archive_write_set_format_pax_restricted(a_) != ARCHIVE_OK)
      return io_error(std::string("backup archive: ") + archive_error_string(a_));
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return io_error("cannot create " + path + ": " + errno_text());
    fd_ = fd;
    if (archive_write_open_fd(a_, fd_) != ARCHIVE_OK)
      return io_error(std::string("backup archive: ") + archive_error_string(a_));
    return {};
  }

  // Adds the regular file at `source` as `name`; a file that vanished is skipped (ok, false).
  Result<bool> add_file(const std::string& source, const std::string& name, BackupManifest& manifest) {
    Fd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (in.fd < 0) {
      if (errno == ENOENT) return false;
      return io_error("cannot read " + source + ": " + errno_text());
    }
    struct stat st {};
    if (fstat(in.fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
    Sha256 hash;
    auto e = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_size(e.get(), st.st_size);
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0600);
    archive_entry_set_mtime(e.get(), st.st_mtime, 0);
    if (archive_write_header(a_, e.get()) != ARCHIVE_OK)
      return io_error(std::string("backup archive: ") + archive_error_string(a_));
    std::string buf(kChunk, '\0');
    int64_t total = 0;
    for (;;) {
      ssize_t n = ::read(in.fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return io_error("cannot read " + source + ": " + errno_text());
      if (n == 0) break;
      if (total + n > st.st_size) return io_error(source + " grew while it was being backed up");
      if (archive_write_data(a_, buf.data(), static_cast<size_t>(n)) != n)
        return io_error(std::string("backup archive: ") + archive_error_string(a_));
      hash.update(buf.data(), static_cast<size_t>(n));
      total += n;
    }
    if (total != st.st_size) return io_error(source + " shrank while it was being backed up");
    manifest.files.push_back({name, total, hash.hex()});
    return true;
  }

  Status add_text(const std::string& name, const std::string& text) {
    auto e = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(text.size()));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0600);
    archive_entry_set_mtime(e.get(), now_seconds(), 0);
    if (archive_write_header(a_, e.get()) != ARCHIVE_OK ||
        archive_write_data(a_, text.data(), text.size()) != static_cast<la_ssize_t>(text.size()))
      return io_error(std::string("backup archive: ") + archive_error_string(a_));
    return {};
  }

  Status finish() {
    bool ok = archive_write_close(a_) == ARCHIVE_OK;
    std::string why = ok ? "" : archive_error_string(a_);
    archive_write_free(a_);
    a_ = nullptr;
    if (ok && fsync(fd_) != 0) {
      ok = false;
      why = errno_text();
    }
    close(fd_);
    fd_ = -1;
    if (!ok) return io_error("backup archive: " + why);
    return {};
  }

  ~ArchiveWriter() {
    if (a_) archive_write_free(a_);
    if (fd_ >= 0) close(fd_);
  }

 private:
  archive* a_ = nullptr;
  int fd_ = -1;
};

// Regular files under data_dir/dir, as paths relative to data_dir, sorted.
std::vector<std::string> files_under(const std::string& data_dir, const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::path root = fs::path(data_dir) / dir;
  if (!fs::is_directory(root, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string rel = fs::relative(it->path(), data_dir, ec).generic_string();
    if (ec) break;
    if (it->is_directory(ec) && rel == "assets/tmp") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && !it->is_symlink(ec) && allowed_path(rel)) out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---- reading ----

class ArchiveReader {
 public:
  explicit ArchiveReader(const std::string& path) : a_(archive_read_new()) {
    archive_read_support_filter_gzip(a_);
    archive_read_support_format_tar(a_);
    opened_ = archive_read_open_filename(a_, path.c_str(), kChunk) == ARCHIVE_OK;
  }
  ~ArchiveReader() { archive_read_free(a_); }
  bool opened() const { return opened_; }
  std::string error() const {
    const char* e = archive_error_string(a_);
    return e ? e : "unreadable archive";
  }
  archive* get() { return a_; }

 private:
  archive* a_;
  bool opened_ = false;
};

// Reads every entry, checking paths and types; sink(path, data, n) receives each file's bytes
// (n == 0 marks its end). Returns the manifest after checking every file against it.
Result<BackupManifest> read_archive(const std::string& archive_path,
                                    const std::function<Status(const std::string&, const char*, size_t)>& sink) {
  ArchiveReader r(archive_path);
  if (!r.opened()) return invalid("cannot open " + archive_path + ": " + r.error());
  std::map<std::string, BackupFile> seen;
  std::optional<BackupManifest> manifest;
  std::string buf(kChunk, '\0');
  archive_entry* e = nullptr;
  for (;;) {
    int rc = archive_read_next_header(r.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) return invalid("damaged archive: " + r.error());
    const char* raw_name = archive_entry_pathname(e);
    std::string name = raw_name ? raw_name : "";
    if (manifest) return invalid("entry " + name + " after MANIFEST.json");
    if (archive_entry_filetype(e) != AE_IFREG) return invalid("entry " + name + " is not a regular file");
    bool is_manifest = name == kManifestName;
    if (!is_manifest && !allowed_path(name)) return invalid("entry with a path a backup never holds: '" + name + "'");
    if (seen.count(name)) return invalid("entry " + name + " appears twice");
    Sha256 hash;
    std::string text;
    int64_t size = 0;
    for (;;) {
      la_ssize_t n = archive_read_data(r.get(), buf.data(), buf.size());
      if (n < 0) return invalid("damaged archive at " + name + ": " + r.error());
      if (n == 0) break;
      size += n;
      if (is_manifest) {
        if (text.size() + static_cast<size_t>(n) > (size_t{64} << 20)) return invalid("MANIFEST.json is too large");
        text.append(buf.data(), static_cast<size_t>(n));
      } else {
        hash.update(buf.data(), static_cast<size_t>(n));
        if (sink)
          if (auto s = sink(name, buf.data(), static_cast<size_t>(n)); !s) return s.error();
      }
    }
    if (is_manifest) {
      auto m = parse_manifest(text);
      if (!m) return m.error();
      manifest = std::move(m.value());
      continue;
    }
    if (size != archive_entry_size(e)) return invalid("entry " + name + " is truncated");
    if (sink)
      if (auto s = sink(name, nullptr, 0); !s) return s.error();
    seen[name] = {name, size, hash.hex()};
  }
  if (!manifest) return invalid("no MANIFEST.json at the end of the archive (truncated?)");
  std::set<std::string> listed;
  for (const auto& f : manifest->files) {
    if (!listed.insert(f.path).second) return invalid("MANIFEST.json lists " + f.path + " twice");
    auto it = seen.find(f.path);
    if (it == seen.end()) return invalid("MANIFEST.json lists " + f.path + " but the archive does not hold it");
    if (it->second.size != f.size || it->second.sha256 != f.sha256)
      return invalid("checksum mismatch for " + f.path);
  }
  for (const auto& [path, _] : seen)
    if (!listed.count(path)) return invalid("entry " + path + " is not in MANIFEST.json");
  if (!listed.count("wirebox.db")) return invalid("the backup has no wirebox.db");
  return std::move(*manifest);
}

std::string utc_stamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y%m%dT%H%M%SZ", &tm);
  return out;
}

Status fsync_path(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0 || fsync(fd.fd) != 0) return io_error("cannot sync " + path + ": " + errno_text());
  return {};
}

// Gives every restored path the data directory's owner (wirectl runs as root, wireboxd does not).
void chown_like(const std::string& path, uid_t uid, gid_t gid) {
  if (lchown(path.c_str(), uid, gid) != 0) return;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (lchown(it->path().c_str(), uid, gid) != 0) return;
}

}  // namespace

Result<BackupManifest> write_backup(const BackupSources& src, const std::string& staging_dir,
                                    const std::string& archive_path) {
  std::error_code ec;
  fs::create_directories(staging_dir + "/events", ec);
  if (ec) return io_error("cannot create " + staging_dir + ": " + ec.message());
  fs::permissions(staging_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove(dir + "/wirebox.db", ignored);
      fs::remove_all(dir + "/events", ignored);
    }
  } cleanup{staging_dir};

  BackupManifest manifest;
  manifest.created_at_ms = now_ms();
  manifest.domain = src.domain;
  if (auto s = src.snapshot_database(staging_dir + "/wirebox.db"); !s) return s.error();
  if (auto s = src.copy_events(staging_dir + "/events"); !s) return s.error();

  ArchiveWriter w;
  if (auto s = w.open(archive_path); !s) return s.error();
  auto add = [&](const std::string& source, const std::string& name, bool required) -> Status {
    auto added = w.add_file(source, name, manifest);
    if (!added) return added.error();
    if (required && !*added) return io_error(source + " is missing");
    return {};
  };
  if (auto s = add(staging_dir + "/wirebox.db", "wirebox.db", true); !s) return s.error();
  if (auto s = add(staging_dir + "/events/data.mdb", "events/data.mdb", true); !s) return s.error();
  for (const char* dir : {"assets", "secrets", "tls"})
    for (const auto& rel : files_under(src.data_dir, dir))
      if (auto s = add(src.data_dir + "/" + rel, rel, false); !s) return s.error();
  if (auto s = w.add_text(kManifestName, manifest_json(manifest).dump(2) + "\n"); !s) return s.error();
  if (auto s = w.finish(); !s) return s.error();
  return manifest;
}

Result<std::string> sha256_file(const std::string& path) {
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) return io_error("cannot read " + path + ": " + errno_text());
  Sha256 hash;
  std::string buf(kChunk, '\0');
  for (;;) {
    ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot read " + path + ": " + errno_text());
    if (n == 0) break;
    hash.update(buf.data(), static_cast<size_t>(n));
  }
  return hash.hex();
}

Result<BackupManifest> verify_backup(const std::string& archive_path) { return read_archive(archive_path, nullptr); }

Result<RestoreReport> restore_backup(const std::string& archive_path, const std::string& data_dir) {
  auto checked = verify_backup(archive_path);
  if (!checked) return checked.error();

  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return io_error("cannot create data directory " + data_dir + ": " + ec.message());
  const std::string staging = data_dir + "/.restore-staging";
  fs::remove_all(staging, ec);
  fs::create_directory(staging, ec);
  if (ec) return io_error("cannot create " + staging + ": " + ec.message());
  fs::permissions(staging, fs::perms::owner_all, fs::perm_options::replace, ec);
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{staging};

  // Second pass: extract, hashing again (the file could have changed since the first pass).
  std::unique_ptr<Fd> out;
  std::string current;
  auto sink = [&](const std::string& name, const char* data, size_t n) -> Status {
    std::string path = staging + "/" + name;
    if (!out || current != name) {
      std::error_code mk;
      fs::create_directories(fs::path(path).parent_path(), mk);
      if (mk) return io_error("cannot create " + fs::path(path).parent_path().string() + ": " + mk.message());
      out = std::make_unique<Fd>(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (out->fd < 0) return io_error("cannot create " + path + ": " + errno_text());
      current = name;
    }
    if (n == 0) {  // end of this file
      int rc = fsync(out->fd);
      out.reset();
      current.clear();
      if (rc != 0) return io_error("cannot sync " + path + ": " + errno_text());
      return {};
    }
    while (n > 0) {
      ssize_t w = ::write(out->fd, data, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return io_error("cannot write " + path + ": " + errno_text());
      data += w;
      n -= static_cast<size_t>(w);
    }
    return {};
  };
  auto extracted = read_archive(archive_path, sink);
  if (!extracted) return extracted.error();
  if (manifest_json(*extracted) != manifest_json(*checked)) return invalid("the archive changed while it was restored");
  if (auto s = storage::check_integrity(staging + "/wirebox.db"); !s) return invalid(s.error().message);
  for (const char* dir : {"events", "assets", "secrets", "tls"}) {
    fs::create_directories(staging + "/" + dir, ec);
    for (auto it = fs::recursive_directory_iterator(staging + "/" + dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_directory()) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::replace, ec);
    fs::permissions(staging + "/" + dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  struct stat owner {};
  bool as_root = geteuid() == 0 && stat(data_dir.c_str(), &owner) == 0;
  if (as_root)
    for (const auto& item : kRestoredItems) chown_like(staging + "/" + item, owner.st_uid, owner.st_gid);

  // Swap: move what is there aside (including SQLite's -wal/-shm, which belong to the old
  // database and would corrupt the restored one), then rename the restored items in. Any failed
  // step (an item on its own mount point cannot be renamed: EBUSY, EXDEV) puts everything back
  // where it was: a data directory left without wirebox.db would start with an empty database
  // and delete every asset file as an orphan.
  RestoreReport report{std::move(*checked), ""};
  std::string previous = data_dir + "/.restore-previous-" + utc_stamp() + "-XXXXXX";
  std::vector<std::string> aside = kRestoredItems;
  aside.push_back("wirebox.db-wal");
  aside.push_back("wirebox.db-shm");
  std::vector<std::string> moved_aside, moved_in;
  auto undo = [&](const std::string& what) -> ApiError {
    std::error_code ignored;
    for (auto it = moved_in.rbegin(); it != moved_in.rend(); ++it)
      fs::rename(data_dir + "/" + *it, staging + "/" + *it, ignored);
    bool restored = true;
    for (auto it = moved_aside.rbegin(); it != moved_aside.rend(); ++it) {
      std::error_code back;
      fs::rename(previous + "/" + *it, data_dir + "/" + *it, back);
      restored = restored && !back;
    }
    if (restored && !report.previous_dir.empty()) fs::remove(previous, ignored);
    return io_error(what + (restored ? "; the data directory is as it was"
                                     : "; the previous data could not all be put back, it is in " + previous));
  };
  for (const auto& item : aside) {
    std::string path = data_dir + "/" + item;
    if (!fs::exists(fs::symlink_status(path, ec))) continue;
    if (report.previous_dir.empty()) {
      // mkdtemp: a new directory of our own even for two restores within the same second.
      if (!::mkdtemp(previous.data())) return io_error("cannot create " + previous + ": " + errno_text());
      if (as_root) chown_like(previous, owner.st_uid, owner.st_gid);
      report.previous_dir = previous;
    }
    fs::rename(path, previous + "/" + item, ec);
    if (ec) return undo("cannot move " + path + " aside: " + ec.message());
    moved_aside.push_back(item);
  }
  for (const auto& item : kRestoredItems) {
    fs::rename(staging + "/" + item, data_dir + "/" + item, ec);
    if (ec) return undo("cannot move the restored " + item + " into " + data_dir + ": " + ec.message());
    moved_in.push_back(item);
  }
  if (auto s = fsync_path(data_dir); !s) return s.error();
  return report;
}

}  // namespace wirebox::admin
