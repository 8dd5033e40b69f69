#include "assets/blob_directory.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assets/asset_key.h"
#include "core/encoding.h"

namespace wirebox::assets {
namespace fs = std::filesystem;

ApiError disk_error(int err, const char* what) {
  if (err == ENOSPC || err == EDQUOT || err == EFBIG)
    return {507, "insufficient-storage", "Not enough storage space for this asset"};
  return ApiError::internal(std::string("asset storage: ") + what + ": " + std::strerror(err));
}

namespace {

Status fsync_path(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return disk_error(errno, "open directory");
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return disk_error(err, "fsync directory");
  return Status::Ok();
}

}  // namespace

TempBlob::~TempBlob() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(path_.c_str());
}

BlobDirectory::BlobDirectory(std::string root) : root_(std::move(root)) {
  std::error_code ec;
  fs::create_directories(root_ + "/tmp", ec);
  if (ec) throw std::runtime_error("cannot create asset directory " + root_ + ": " + ec.message());
  // Every shard directory now, not at an upload's commit: a new directory there was a mkdir
  // (inode allocation, ~0.2 ms) on the path to the 201.
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 256; ++i) {
    std::string shard = root_ + "/" + kHex[i >> 4] + kHex[i & 15];
    if (::mkdir(shard.c_str(), 0700) != 0 && errno != EEXIST)
      throw std::runtime_error("cannot create asset directory " + shard + ": " + std::strerror(errno));
  }
  for (const auto& entry : fs::directory_iterator(root_ + "/tmp", ec)) {
    std::error_code rm;
    if (fs::remove(entry.path(), rm)) ++leftovers_removed_;
  }
}

Result<std::unique_ptr<TempBlob>> BlobDirectory::create_temp() {
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::string path = root_ + "/tmp/" + hex_encode(random_bytes(12));
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return std::unique_ptr<TempBlob>(new TempBlob(fd, std::move(path)));
    if (errno != EEXIST) return disk_error(errno, "create");
  }
  return ApiError::internal("asset storage: no free temporary name");
}

std::string BlobDirectory::path_of(const std::string& key) const {
  // Keys are "3-N-<uuid>": shard by the uuid's first two hex digits.
  return root_ + "/" + key.substr(4, 2) + "/" + key;
}

Status BlobDirectory::commit(TempBlob& blob, const std::string& key) {
  std::string target = path_of(key);
  std::string shard = target.substr(0, target.rfind('/'));
  // Renamed before the file is synced: a journaling file system (ext4, xfs) then commits the
  // rename with the file's own fsync, and the directory's fsync below finds little left to do;
  // renamed after, the two syncs were two journal commits, ~0.4-0.8 ms more per upload. Until
  // the caller records the asset, a file under its key that a crash left behind (possibly short)
  // is an orphan, and orphans are deleted at start-up (AssetService::remove_orphans).
  if (::rename(blob.path_.c_str(), target.c_str()) != 0) {
    // The shard directories are made at start-up; one removed since then is made again.
    if (errno != ENOENT) return disk_error(errno, "rename");
    if (::mkdir(shard.c_str(), 0700) != 0 && errno != EEXIST) return disk_error(errno, "mkdir");
    if (::rename(blob.path_.c_str(), target.c_str()) != 0) return disk_error(errno, "rename");
  }
  blob.committed_ = true;
  int synced = ::fsync(blob.fd_);
  int sync_errno = errno;
  ::close(blob.fd_);
  blob.fd_ = -1;
  if (synced != 0) {
    ::unlink(target.c_str());
    return disk_error(sync_errno, "fsync");
  }
  // The old name in tmp/ needs no sync: start-up empties tmp/ anyway.
  Status durable = fsync_path(shard);
  if (!durable) ::unlink(target.c_str());
  return durable;
}

std::optional<std::pair<std::shared_ptr<const http::OpenFile>, uint64_t>> BlobDirectory::open(
    const std::string& key) const {
  if (!is_asset_key(key)) return std::nullopt;
  int fd = ::open(path_of(key).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  auto file = std::make_shared<const http::OpenFile>(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  return std::make_pair(std::move(file), static_cast<uint64_t>(st.st_size));
}

void BlobDirectory::remove(const std::string& key) {
  if (!is_asset_key(key)) return;
  ::unlink(path_of(key).c_str());
}

void BlobDirectory::for_each_key(const std::function<void(const std::string& key)>& fn) const {
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(root_, ec)) {
    if (!shard.is_directory() || shard.path().filename() == "tmp") continue;
    std::error_code inner;
    for (const auto& file : fs::directory_iterator(shard.path(), inner)) {
      std::string name = file.path().filename().string();
      if (is_asset_key(name)) fn(name);
    }
  }
}

}  // namespace wirebox::assets
