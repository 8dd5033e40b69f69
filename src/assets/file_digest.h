// FileDigest: the MD5 of a file that is being appended to, computed behind the writer.
//
// Why: an upload's bytes arrive on an I/O loop, which already decrypts TLS and writes the
// file; MD5 (about 700 MB/s per core) would make it the loop's largest cost and cap the upload
// rate. Instead the writer only reports how far the file has grown (appended()), and chunks of
// at least kChunkBytes are read back from the page cache and hashed by jobs handed to `post`
// (the daemon's blocking pool), one job at a time per file, in file order. The same jobs start
// the kernel's write-back of the ranges they hashed (sync_file_range), so the fsync before the
// upload is acknowledged has little left to write.
//
// Ownership: the FileDigest duplicates the file descriptor it is given; the original stays the
// caller's. Its state is shared with a running job, so destroying a FileDigest while a job runs
// is safe (the job finishes on its own copy and discards the result).
// Threads: appended() from the writer's thread; finish() from any one thread after the last
// appended(); it waits for a running job (one chunk at most), never for a queued one, so it
// may run on the pool the jobs go to. Not for concurrent writers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/api_error.h"

namespace wirebox::assets {

class FileDigest {
 public:
  using Post = std::function<void(std::function<void()>)>;
  // Small enough that a 1 MiB upload is mostly hashed while it still arrives (at 1 MiB, its
  // whole MD5, ~1.5 ms, came after the last byte); large enough to keep jobs few.
  static constexpr uint64_t kChunkBytes = 256 << 10;

  // fd: an open, readable file (duplicated here). post: runs a job off the caller's thread;
  // empty = hash everything in finish().
  static Result<std::unique_ptr<FileDigest>> create(int fd, Post post);
  ~FileDigest();
  FileDigest(const FileDigest&) = delete;
  FileDigest& operator=(const FileDigest&) = delete;

  // The file's first total_size bytes are written and will not change.
  void appended(uint64_t total_size);
  // The raw 16-byte MD5 of the file's first total_size bytes (the last appended() value), or
  // an error if reading the file back failed.
  Result<std::string> finish();

  struct State;

 private:
  FileDigest(std::shared_ptr<State> state, Post post) : state_(std::move(state)), post_(std::move(post)) {}
  std::shared_ptr<State> state_;
  Post post_;
};

}  // namespace wirebox::assets
