// ChunkedBlobWriter: writes an upload's bytes to its file and computes their MD5, both off the
// I/O loop, without passing the bytes through the page cache.
//
// Why: the loop used to write each 16 KiB piece to the page cache and pool jobs read it back to
// hash it: per byte a kernel copy in, a kernel copy out, page-cache bookkeeping, then write-back
// at the fsync before the 201. Now the loop only copies the bytes into 512 KiB buffers (4 KiB
// aligned). Each full chunk goes to two job chains on the blocking pool: one writes it with
// O_DIRECT (the device reads the buffer itself, so the fsync before the 201 has only metadata
// left), the other hashes it from memory. The chains run side by side, so a chunk costs
// max(write, hash), not their sum. Where the file system refuses O_DIRECT (tmpfs, some overlay
// set-ups) chunks go through the page cache and their write-back is started at once
// (sync_file_range).
//
// Memory: at most kBuffers chunk buffers per upload. When all are busy the loop's bytes are kept
// aside (at most about one network read) and wait_for_room() asks the caller to stop reading
// until a chunk is done; memory stays flat whatever the upload's size or the disk's speed.
// Buffers are recycled across uploads (a small process-wide cache), so a 1 MiB upload does not
// map and fault in fresh pages.
//
// Ownership: the writer duplicates the file descriptor it is given (and sets O_DIRECT on the
// shared open file); the original stays the caller's. Its state is shared with running jobs:
// destroying a writer while jobs run is safe (they stop after their current chunk and drop their
// results; a pending resume callback is dropped, never called).
// Threads: append() and wait_for_room() from one thread (the connection's loop); jobs on the
// pool; finish() from any one thread after the last append(). finish() waits only for jobs that
// are running (they drain their queues), never for queued ones, whose work it does itself, so
// it may run on the very pool the jobs were posted to.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/api_error.h"

namespace wirebox::assets {

class ChunkedBlobWriter {
 public:
  using Post = std::function<void(std::function<void()>)>;
  // Large enough that a chunk's write and hash dwarf a job's hand-over (each O_DIRECT write
  // pins its pages and kicks the device; A/B against 256 KiB on 100 MiB uploads: 6-10 % less
  // wall time, 4 % less CPU); small enough that a 1 MiB upload is half written and hashed
  // while it still arrives (1 MiB uploads: equal to 256 KiB within the noise; 1 MiB chunks
  // made them 12 % slower, their whole hash then waiting for the last byte).
  static constexpr size_t kChunkBytes = 512 << 10;
  // One being filled by the loop, one being written, one being hashed.
  static constexpr int kBuffers = 3;

  // fd: the open temporary file, empty (duplicated here). post: runs a job off the caller's
  // thread; empty = write and hash everything in finish() (tests, or no pool).
  static Result<std::unique_ptr<ChunkedBlobWriter>> create(int fd, Post post);
  ~ChunkedBlobWriter();
  ChunkedBlobWriter(const ChunkedBlobWriter&) = delete;
  ChunkedBlobWriter& operator=(const ChunkedBlobWriter&) = delete;

  // Takes all the bytes (never blocks). Returns the first error of an earlier chunk's write
  // (a full disk is a 507), after which the upload should stop.
  Status append(const char* data, size_t size);
  // Bytes appended so far.
  uint64_t size() const { return appended_; }
  // True if append() can take more without keeping bytes aside. Otherwise false, and `resume`
  // will be called once, from a pool thread, when a chunk buffer is free again.
  bool wait_for_room(std::function<void()> resume);
  // Writes what is left, truncates the file to size() and returns the raw 16-byte MD5 of all
  // the bytes, or the first write error. The file is not fsynced here.
  Result<std::string> finish();

  struct State;

 private:
  ChunkedBlobWriter(std::shared_ptr<State> state, Post post) : state_(std::move(state)), post_(std::move(post)) {}
  // Moves aside_ and then [data, data+size) into chunk buffers, handing full ones to the jobs;
  // keeps in aside_ what finds no free buffer.
  void fill(const char* data, size_t size);
  void submit_current();

  std::shared_ptr<State> state_;
  Post post_;
  int current_ = -1;        // buffer being filled (index into the state's slots), -1 = none
  size_t current_fill_ = 0;
  uint64_t submitted_ = 0;  // bytes handed to jobs (the next chunk's file offset)
  uint64_t appended_ = 0;
  std::string aside_;       // bytes that found no free buffer, in order, before any later ones
};

}  // namespace wirebox::assets
