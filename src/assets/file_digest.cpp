#include "assets/file_digest.h"

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

namespace wirebox::assets {

struct FileDigest::State {
  std::mutex mu;
  std::condition_variable idle;
  int fd = -1;
  EVP_MD_CTX* md5 = nullptr;
  uint64_t hashed = 0;      // bytes [0, hashed) are in md5
  uint64_t available = 0;   // bytes [0, available) are written
  bool job_queued = false;   // posted, not started
  bool job_running = false;  // hashing (without the lock)
  bool finishing = false;    // finish() took over: a queued job ends without work
  std::optional<ApiError> error;
  // Read-back buffer, used by whichever thread hashes (one at a time): allocated once per
  // upload, not per chunk (256 KiB is above malloc's mmap threshold: a map/unmap each time).
  std::vector<char> buf = std::vector<char>(256 * 1024);

  ~State() {
    if (fd >= 0) ::close(fd);
    EVP_MD_CTX_free(md5);
  }

  // Hashes [from, to) read back from the file. Called by one thread at a time (the running
  // job, or finish() once no job runs), without the lock: md5 and the file range are that
  // thread's alone.
  Status hash_range(uint64_t from, uint64_t to, bool start_write_back) {
    uint64_t at = from;
    while (at < to) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), to - at));
      ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(at));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ApiError::internal(std::string("asset storage: read back: ") + std::strerror(errno));
      if (n == 0) return ApiError::internal("asset storage: read back: the file is shorter than written");
      EVP_DigestUpdate(md5, buf.data(), static_cast<size_t>(n));
      at += static_cast<uint64_t>(n);
    }
    // Asynchronous: queues the range for write-back without waiting for it.
    if (start_write_back)
      ::sync_file_range(fd, static_cast<off_t>(from), static_cast<off_t>(to - from), SYNC_FILE_RANGE_WRITE);
    return Status::Ok();
  }
};

namespace {

// One job: hashes whole chunks until fewer than kChunkBytes are waiting, then ends. The tail
// is left to finish() (or to the next job, once more bytes arrive). finish() never waits for
// a job that has not started: on a busy pool it could be queued behind finish() itself.
void run_job(const std::shared_ptr<FileDigest::State>& s) {
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->job_queued = false;
    if (s->finishing) return;
    s->job_running = true;
  }
  for (;;) {
    uint64_t from, to;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      if (s->finishing || s->error || s->available - s->hashed < FileDigest::kChunkBytes) {
        s->job_running = false;
        s->idle.notify_all();
        return;
      }
      from = s->hashed;
      to = s->available - (s->available - s->hashed) % FileDigest::kChunkBytes;
    }
    Status st = s->hash_range(from, to, true);
    std::lock_guard<std::mutex> lock(s->mu);
    if (!st) s->error = st.error();
    else s->hashed = to;
  }
}

}  // namespace

Result<std::unique_ptr<FileDigest>> FileDigest::create(int fd, Post post) {
  auto state = std::make_shared<State>();
  state->fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (state->fd < 0) return ApiError::internal(std::string("asset storage: dup: ") + std::strerror(errno));
  state->md5 = EVP_MD_CTX_new();
  if (!state->md5 || EVP_DigestInit_ex(state->md5, EVP_md5(), nullptr) != 1)
    return ApiError::internal("OpenSSL MD5 is not available");
  return std::unique_ptr<FileDigest>(new FileDigest(std::move(state), std::move(post)));
}

FileDigest::~FileDigest() = default;

void FileDigest::appended(uint64_t total_size) {
  bool start = false;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->available = total_size;
    if (post_ && !state_->job_queued && !state_->job_running && !state_->error &&
        total_size - state_->hashed >= kChunkBytes) {
      state_->job_queued = true;
      start = true;
    }
  }
  if (start) post_([s = state_] { run_job(s); });
}

Result<std::string> FileDigest::finish() {
  uint64_t from, to;
  {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->finishing = true;
    state_->idle.wait(lock, [this] { return !state_->job_running; });
    if (state_->error) return *state_->error;
    from = state_->hashed;
    to = state_->available;
  }
  if (Status st = state_->hash_range(from, to, false); !st) return st.error();
  state_->hashed = to;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->md5, digest, &len);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

}  // namespace wirebox::assets
