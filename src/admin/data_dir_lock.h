// DataDirLock: an exclusive flock(2) on <data_dir>/wireboxd.lock. wireboxd holds it while it
// runs (two daemons on one data directory would corrupt the LMDB locks and race on files), and
// `wirectl backup restore` holds it while it replaces the data, so a daemon cannot start in the
// middle. The kernel drops the lock when the holder exits, even on kill -9.
#pragma once

#include <string>

#include "core/api_error.h"

namespace wirebox::admin {

class DataDirLock {
 public:
  // 409 data-dir-busy if another process holds it; the directory must exist.
  static Result<DataDirLock> try_acquire(const std::string& data_dir);
  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace wirebox::admin
