#include "assets/chunked_blob_writer.h"

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include "assets/blob_directory.h"

namespace wirebox::assets {
namespace {

// O_DIRECT wants buffer addresses, file offsets and lengths aligned to the device's logical
// block size; 4 KiB covers every common one. kChunkBytes is a multiple of it.
constexpr size_t kAlignBytes = 4096;
static_assert(ChunkedBlobWriter::kChunkBytes % kAlignBytes == 0);

// Chunk buffers kept for the next uploads (4 MiB at most): a fresh 512 KiB buffer is an mmap
// and 128 page faults.
class BufferCache {
 public:
  static BufferCache& instance() {
    static BufferCache cache;
    return cache;
  }
  char* take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        char* p = free_.back();
        free_.pop_back();
        return p;
      }
    }
    return static_cast<char*>(std::aligned_alloc(kAlignBytes, ChunkedBlobWriter::kChunkBytes));
  }
  void give(char* p) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (free_.size() < kMaxCached) {
        free_.push_back(p);
        return;
      }
    }
    std::free(p);
  }

 private:
  static constexpr size_t kMaxCached = 8;
  std::mutex mu_;
  std::vector<char*> free_;
};

}  // namespace

struct ChunkedBlobWriter::State {
  struct Slot {
    char* data = nullptr;  // kChunkBytes, aligned; taken from the cache when first used
    size_t size = 0;
    uint64_t offset = 0;
    int refs = 0;  // jobs still to run on it (write, hash); 0 = free, or being filled
    bool in_use = false;
  };
  // One of the two job chains: runs its queue's chunks in order, one job at a time.
  struct Chain {
    std::deque<int> queue;
    bool queued = false;   // a job is posted, not started
    bool running = false;  // a job is working (without the lock)
  };

  std::mutex mu;
  std::condition_variable idle;
  int fd = -1;
  std::atomic<bool> direct{false};
  EVP_MD_CTX* md5 = nullptr;
  Slot slots[kBuffers];
  Chain writer, hasher;
  bool finishing = false;  // finish() took over: jobs end without work
  bool abandoned = false;  // the writer is gone: jobs end, nobody is resumed
  std::optional<ApiError> error;
  std::function<void()> resume;

  ~State() {
    if (fd >= 0) ::close(fd);
    EVP_MD_CTX_free(md5);
    for (auto& slot : slots)
      if (slot.data) BufferCache::instance().give(slot.data);
  }

  // Under the lock. A free slot's index (marked in use), or -1.
  int take_free_slot() {
    for (int i = 0; i < kBuffers; ++i) {
      if (slots[i].in_use) continue;
      if (!slots[i].data) {
        slots[i].data = BufferCache::instance().take();
        if (!slots[i].data) {
          if (!error) error = ApiError::internal("asset storage: out of memory for a chunk buffer");
          return -1;
        }
      }
      slots[i].in_use = true;
      return i;
    }
    return -1;
  }
  bool has_free_slot() const {
    for (const auto& slot : slots)
      if (!slot.in_use) return true;
    return false;
  }

  // Without the lock, by the writer chain or by finish() once that chain stopped. `last`: the
  // final, possibly short chunk, padded with zeros for O_DIRECT (finish() truncates after).
  Status write_chunk(Slot& slot, bool last) {
    size_t length = slot.size;
    if (direct && last) {
      length = (slot.size + kAlignBytes - 1) / kAlignBytes * kAlignBytes;
      std::memset(slot.data + slot.size, 0, length - slot.size);
    }
    size_t done = 0;
    while (done < length) {
      ssize_t n = ::pwrite(fd, slot.data + done, length - done, static_cast<off_t>(slot.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EINVAL && direct) {
        // The file system takes the O_DIRECT flag but not this write (alignment rules of its
        // own): the rest of the upload goes through the page cache.
        int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_DIRECT) != 0) return disk_error(errno, "fcntl");
        direct = false;
        length = slot.size;
        continue;
      }
      if (n < 0) return disk_error(errno, "write");
      if (n == 0) return disk_error(EIO, "write");
      done += static_cast<size_t>(n);
    }
    // Through the page cache: start the write-back now, so the fsync finds little left.
    if (!direct)
      ::sync_file_range(fd, static_cast<off_t>(slot.offset), static_cast<off_t>(slot.size), SYNC_FILE_RANGE_WRITE);
    return Status::Ok();
  }

  // Without the lock, by the hasher chain or by finish() once that chain stopped.
  void hash_chunk(const Slot& slot) { EVP_DigestUpdate(md5, slot.data, slot.size); }

  // Under the lock: one job on the slot is done. Returns the resume callback to call (outside
  // the lock) if the loop waits for a buffer.
  std::function<void()> release(Slot& slot) {
    if (--slot.refs == 0) slot.in_use = false;
    if ((!slot.in_use || error) && resume) return std::exchange(resume, nullptr);
    return nullptr;
  }
};

namespace {

enum class Work { kWrite, kHash };

// One job of a chain: runs queued chunks until its queue is empty, then ends; the next submit
// posts a new job. A job that starts after finish() did leaves its queue to finish(); a
// writer that is gone or failed stops the chain.
void run_chain(const std::shared_ptr<ChunkedBlobWriter::State>& s, Work work) {
  auto& chain = work == Work::kWrite ? s->writer : s->hasher;
  std::unique_lock<std::mutex> lock(s->mu);
  chain.queued = false;
  if (s->finishing || s->abandoned) return;
  chain.running = true;
  // A running chain drains its queue even once finish() started: it then waits for it, and
  // the last chunk's write and hash still run side by side.
  while (!chain.queue.empty() && !s->abandoned && !s->error) {
    auto& slot = s->slots[chain.queue.front()];
    chain.queue.pop_front();
    lock.unlock();
    Status st = Status::Ok();
    if (work == Work::kWrite) st = s->write_chunk(slot, false);
    else s->hash_chunk(slot);
    lock.lock();
    if (!st && !s->error) s->error = st.error();
    if (auto resume = s->release(slot)) {
      lock.unlock();
      resume();
      lock.lock();
    }
  }
  chain.running = false;
  s->idle.notify_all();
}

}  // namespace

Result<std::unique_ptr<ChunkedBlobWriter>> ChunkedBlobWriter::create(int fd, Post post) {
  auto state = std::make_shared<State>();
  state->fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (state->fd < 0) return ApiError::internal(std::string("asset storage: dup: ") + std::strerror(errno));
  int flags = ::fcntl(state->fd, F_GETFL);
  state->direct = flags >= 0 && ::fcntl(state->fd, F_SETFL, flags | O_DIRECT) == 0;
  state->md5 = EVP_MD_CTX_new();
  if (!state->md5 || EVP_DigestInit_ex(state->md5, EVP_md5(), nullptr) != 1)
    return ApiError::internal("OpenSSL MD5 is not available");
  return std::unique_ptr<ChunkedBlobWriter>(new ChunkedBlobWriter(std::move(state), std::move(post)));
}

ChunkedBlobWriter::~ChunkedBlobWriter() {
  std::function<void()> dropped;
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->abandoned = true;
  dropped = std::exchange(state_->resume, nullptr);  // destroyed after the lock is released
}

Status ChunkedBlobWriter::append(const char* data, size_t size) {
  appended_ += size;
  if (aside_.empty()) {
    fill(data, size);
  } else {
    aside_.append(data, size);
    std::string pending = std::move(aside_);
    aside_.clear();
    fill(pending.data(), pending.size());
  }
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->error) return *state_->error;
  return Status::Ok();
}

void ChunkedBlobWriter::fill(const char* data, size_t size) {
  while (size > 0) {
    if (current_ < 0) {
      std::lock_guard<std::mutex> lock(state_->mu);
      current_ = state_->take_free_slot();
      if (current_ < 0) {
        aside_.append(data, size);
        return;
      }
    }
    auto& slot = state_->slots[current_];
    size_t n = std::min(size, kChunkBytes - current_fill_);
    std::memcpy(slot.data + current_fill_, data, n);
    current_fill_ += n;
    data += n;
    size -= n;
    if (current_fill_ == kChunkBytes) submit_current();
  }
}

void ChunkedBlobWriter::submit_current() {
  auto& s = *state_;
  auto& slot = s.slots[current_];
  bool queued = false, post_writer = false, post_hasher = false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    slot.size = current_fill_;
    slot.offset = submitted_;
    if (post_ && !s.finishing) {
      queued = true;
      slot.refs = 2;
      s.writer.queue.push_back(current_);
      s.hasher.queue.push_back(current_);
      post_writer = !s.writer.queued && !s.writer.running;
      post_hasher = !s.hasher.queued && !s.hasher.running;
      s.writer.queued |= post_writer;
      s.hasher.queued |= post_hasher;
    }
  }
  submitted_ += current_fill_;
  int index = current_;
  current_ = -1;
  current_fill_ = 0;
  if (post_writer) post_([s = state_] { run_chain(s, Work::kWrite); });
  if (post_hasher) post_([s = state_] { run_chain(s, Work::kHash); });
  if (queued) return;
  // No pool, or finish() is draining: write and hash here.
  Status st = s.write_chunk(slot, false);
  s.hash_chunk(slot);
  std::lock_guard<std::mutex> lock(s.mu);
  if (!st && !s.error) s.error = st.error();
  s.slots[index].in_use = false;
}

bool ChunkedBlobWriter::wait_for_room(std::function<void()> resume) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (aside_.empty() || state_->error || state_->has_free_slot()) return true;
  state_->resume = std::move(resume);
  return false;
}

Result<std::string> ChunkedBlobWriter::finish() {
  auto& s = *state_;
  std::deque<int> to_write, to_hash;
  {
    // A chain whose job has not started (perhaps queued behind this very call) is taken over;
    // a running one drains its own queue.
    std::lock_guard<std::mutex> lock(s.mu);
    s.finishing = true;
    if (!s.writer.running) to_write = std::exchange(s.writer.queue, {});
    if (!s.hasher.running) to_hash = std::exchange(s.hasher.queue, {});
  }
  for (int i : to_write)
    if (Status st = s.write_chunk(s.slots[i], false); !st) return st.error();
  for (int i : to_hash) s.hash_chunk(s.slots[i]);
  {
    std::unique_lock<std::mutex> lock(s.mu);
    s.idle.wait(lock, [&s] { return !s.writer.running && !s.hasher.running; });
    if (s.error) return *s.error;
    for (auto& slot : s.slots)
      if (slot.refs > 0) slot.refs = 0, slot.in_use = false;
  }
  // Then the bytes kept aside and the last short chunk.
  if (!aside_.empty()) {
    std::string pending = std::move(aside_);
    aside_.clear();
    fill(pending.data(), pending.size());
  }
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.error) return *s.error;
  }
  if (current_ >= 0 && current_fill_ > 0) {
    auto& slot = s.slots[current_];
    slot.size = current_fill_;
    slot.offset = submitted_;
    s.hash_chunk(slot);
    if (Status st = s.write_chunk(slot, true); !st) return st.error();
    if (s.direct && ::ftruncate(s.fd, static_cast<off_t>(appended_)) != 0) return disk_error(errno, "truncate");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(s.md5, digest, &len);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

}  // namespace wirebox::assets
