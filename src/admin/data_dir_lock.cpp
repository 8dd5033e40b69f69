#include "admin/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wirebox::admin {

Result<DataDirLock> DataDirLock::try_acquire(const std::string& data_dir) {
  std::string path = data_dir + "/wireboxd.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ApiError::internal("cannot open " + path + ": " + std::strerror(errno));
  // Root (wirectl restore) gives the lock file to the data directory's owner: created root-owned
  // 0600, it kept the daemon, running as that owner, from ever opening it.
  struct stat dir {};
  if (::geteuid() == 0 && ::stat(data_dir.c_str(), &dir) == 0 && ::fchown(fd, dir.st_uid, dir.st_gid) != 0) {
    int err = errno;
    ::close(fd);
    return ApiError::internal("cannot hand " + path + " to the data directory's owner: " + std::strerror(err));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK)
      return ApiError{409, "data-dir-busy", "a wireboxd (or a wirectl restore) is using " + data_dir};
    return ApiError::internal("cannot lock " + path + ": " + std::strerror(err));
  }
  return DataDirLock(fd);
}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace wirebox::admin
