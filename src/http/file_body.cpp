#include "http/file_body.h"

#include <cerrno>

#include <unistd.h>

namespace wirebox::http {

OpenFile::~OpenFile() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSliceBody::writer::init(boost::beast::error_code& ec) {
  if (!slice_.file) {
    ec = boost::beast::errc::make_error_code(boost::beast::errc::bad_file_descriptor);
    return;
  }
  chunk_ = std::make_unique<char[]>(kChunkBytes);
  ec = {};
}

boost::optional<std::pair<FileSliceBody::writer::const_buffers_type, bool>> FileSliceBody::writer::get(
    boost::beast::error_code& ec) {
  ec = {};
  if (left_ == 0) return boost::none;
  size_t want = left_ < kChunkBytes ? static_cast<size_t>(left_) : kChunkBytes;
  ssize_t n;
  do {
    n = ::pread(slice_.file->fd(), chunk_.get(), want, static_cast<off_t>(position_));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    // A file that shrank under us (n == 0) must not end the response early with a short body
    // that the client would take as complete: fail the write and close the connection.
    ec = n == 0 ? boost::beast::errc::make_error_code(boost::beast::errc::io_error)
                : boost::beast::error_code(errno, boost::beast::system_category());
    return boost::none;
  }
  position_ += static_cast<std::uint64_t>(n);
  left_ -= static_cast<std::uint64_t>(n);
  return std::make_pair(const_buffers_type(chunk_.get(), static_cast<size_t>(n)), left_ > 0);
}

}  // namespace wirebox::http
