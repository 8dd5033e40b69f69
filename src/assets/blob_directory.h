// BlobDirectory: the asset bytes on disk, under one root (<data_dir>/assets):
//   <root>/<first two hex digits of the key's uuid>/<key>   complete assets, never modified
//   <root>/tmp/<random>                                     uploads in progress
// An upload is written to a TempBlob and moved into place only once it is complete and verified
// (commit: rename, then fsync of the file and of its directory), so a failed upload leaves
// nothing and a crash leaves at most a file in tmp/, which the constructor deletes at the next
// start, or, during commit, a file under its key with no asset record, which the owner's
// start-up orphan check deletes. Thread-safe (each TempBlob is used by one thread at a time).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "core/api_error.h"
#include "http/request.h"

namespace wirebox::assets {

class BlobDirectory;

// The error for a failed disk operation: a full disk (or quota) is a 507 insufficient-storage,
// anything else a 500.
ApiError disk_error(int err, const char* what);

// A file being uploaded. Removed from disk when destroyed uncommitted.
class TempBlob {
 public:
  ~TempBlob();
  TempBlob(const TempBlob&) = delete;
  TempBlob& operator=(const TempBlob&) = delete;
  // The open, empty file, for the upload's ChunkedBlobWriter (which duplicates it). The blob
  // keeps ownership.
  int fd() const { return fd_; }

 private:
  friend class BlobDirectory;
  TempBlob(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
  bool committed_ = false;
};

class BlobDirectory {
 public:
  // Creates the root and tmp/ if needed and deletes leftovers in tmp/ (uploads a crash
  // interrupted). Throws std::runtime_error if the root cannot be created.
  explicit BlobDirectory(std::string root);

  Result<std::unique_ptr<TempBlob>> create_temp();
  // Renames the file to the key's path, fsyncs it and that directory: durable once this returns
  // ok; on an error nothing is left under the key.
  Status commit(TempBlob& blob, const std::string& key);
  // Opens a committed asset for reading; nullopt if there is no such file.
  std::optional<std::pair<std::shared_ptr<const http::OpenFile>, uint64_t>> open(const std::string& key) const;
  void remove(const std::string& key);
  // Calls fn for every committed file's key (start-up orphan check); keys that are not valid
  // asset keys are skipped.
  void for_each_key(const std::function<void(const std::string& key)>& fn) const;

  size_t leftovers_removed() const { return leftovers_removed_; }
  const std::string& root() const { return root_; }

 private:
  std::string path_of(const std::string& key) const;

  std::string root_;
  size_t leftovers_removed_ = 0;
};

}  // namespace wirebox::assets
