// ChunkedBlobWriter: the file and the MD5 equal the appended bytes whatever the piece sizes and
// however the pool's jobs interleave (none, queued, real threads); finish() never waits for a
// queued job; a writer that is behind asks the loop to pause and resumes it exactly once;
// destroying it drops the resume; a failed write is reported (a full disk as a 507).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/evp.h>

#include "assets/chunked_blob_writer.h"
#include "support/temp_dir.h"

using wirebox::assets::ChunkedBlobWriter;

namespace {

constexpr size_t kChunk = ChunkedBlobWriter::kChunkBytes;

std::string md5_of(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), len);
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// A pool that runs nothing until told: the test decides when jobs run.
struct ManualPool {
  std::deque<std::function<void()>> jobs;
  ChunkedBlobWriter::Post post() {
    return [this](std::function<void()> job) { jobs.push_back(std::move(job)); };
  }
  void run_one() {
    auto job = std::move(jobs.front());
    jobs.pop_front();
    job();
  }
  void run_all() {
    while (!jobs.empty()) run_one();
  }
};

// Two real threads, like the daemon's blocking pool.
struct ThreadPool {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  bool stopping = false;
  std::vector<std::thread> threads;
  ThreadPool() {
    for (int i = 0; i < 2; ++i)
      threads.emplace_back([this] {
        for (;;) {
          std::function<void()> job;
          {
            std::unique_lock<std::mutex> lock(mu);
            cv.wait(lock, [this] { return stopping || !jobs.empty(); });
            if (jobs.empty()) return;
            job = std::move(jobs.front());
            jobs.pop_front();
          }
          job();
        }
      });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    cv.notify_all();
    for (auto& t : threads) t.join();
  }
  ChunkedBlobWriter::Post post() {
    return [this](std::function<void()> job) {
      {
        std::lock_guard<std::mutex> lock(mu);
        jobs.push_back(std::move(job));
      }
      cv.notify_one();
    };
  }
};

struct File {
  wirebox::test::TempDir dir;
  std::string path = dir.path() + "/blob";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ~File() { ::close(fd); }
  std::string contents() const {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

std::unique_ptr<ChunkedBlobWriter> make_writer(int fd, ChunkedBlobWriter::Post post) {
  auto writer = ChunkedBlobWriter::create(fd, std::move(post));
  REQUIRE(writer.ok());
  return std::move(writer.value());
}

// finish() succeeds with the MD5 of `all`, and the file holds exactly `all`.
void check_finished(ChunkedBlobWriter& w, const File& f, const std::string& all) {
  auto md5 = w.finish();
  REQUIRE(md5.ok());
  CHECK(md5.value() == md5_of(all));
  CHECK(f.contents() == all);
  CHECK(w.size() == all.size());
}

// Feeds `all` in pieces of 1..max_piece bytes; between pieces, `between` may run jobs.
void feed(ChunkedBlobWriter& w, const std::string& all, size_t max_piece, unsigned seed,
          const std::function<void()>& between = {}) {
  std::mt19937 rng(seed);
  size_t at = 0;
  while (at < all.size()) {
    size_t piece = std::min(all.size() - at, size_t(1) + rng() % max_piece);
    REQUIRE(w.append(all.data() + at, piece).ok());
    at += piece;
    if (between) between();
  }
}

}  // namespace

TEST_CASE("the file and the MD5 are the appended bytes, with no pool, a manual pool or real threads") {
  size_t size = GENERATE(size_t(0), size_t(1), size_t(4095), kChunk - 1, kChunk, kChunk + 1, 3 * kChunk,
                         7 * kChunk + 12345);
  CAPTURE(size);
  {
    std::string all = random_bytes(size, static_cast<unsigned>(size));

    SECTION("no pool: chunks are written and hashed as they fill") {
      File f;
      auto w = make_writer(f.fd, {});
      feed(*w, all, 20000, 1);
      check_finished(*w, f, all);
    }
    SECTION("manual pool: jobs run at arbitrary moments, some only after finish") {
      File f;
      ManualPool pool;
      auto w = make_writer(f.fd, pool.post());
      std::mt19937 rng(7);
      feed(*w, all, 40000, 2, [&] {
        if (!pool.jobs.empty() && rng() % 3 == 0) pool.run_one();
        w->wait_for_room([] {});
      });
      check_finished(*w, f, all);
      pool.run_all();  // jobs queued before finish(): they find nothing to do
      CHECK(f.contents() == all);
    }
    SECTION("real threads, the loop pausing when told") {
      File f;
      ThreadPool pool;
      auto w = make_writer(f.fd, pool.post());
      std::mutex mu;
      std::condition_variable cv;
      bool resumed = false;
      feed(*w, all, 17000, 3, [&] {
        {
          std::lock_guard<std::mutex> lock(mu);
          resumed = false;
        }
        if (w->wait_for_room([&] {
              std::lock_guard<std::mutex> lock(mu);
              resumed = true;
              cv.notify_all();
            }))
          return;
        std::unique_lock<std::mutex> lock(mu);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return resumed; }));
      });
      check_finished(*w, f, all);
    }
  }
}

TEST_CASE("a writer that is behind asks to pause and resumes the loop once, when a buffer is free") {
  File f;
  ManualPool pool;
  auto w = make_writer(f.fd, pool.post());
  std::string all = random_bytes((ChunkedBlobWriter::kBuffers + 1) * kChunk, 11);
  // Every buffer full and handed to jobs that have not run: the next bytes are kept aside.
  REQUIRE(w->append(all.data(), ChunkedBlobWriter::kBuffers * kChunk).ok());
  CHECK(w->wait_for_room([] { FAIL("nothing is kept aside yet"); }));
  REQUIRE(w->append(all.data() + ChunkedBlobWriter::kBuffers * kChunk, 1000).ok());
  int resumed = 0;
  CHECK_FALSE(w->wait_for_room([&] { ++resumed; }));
  REQUIRE(pool.jobs.size() == 2);  // one writer job, one hasher job
  pool.run_one();                  // the writer writes every queued chunk...
  CHECK(resumed == 0);             // ...but a buffer is free only once it is hashed too
  pool.run_one();
  CHECK(resumed == 1);
  CHECK(w->wait_for_room([] {}));
  REQUIRE(w->append(all.data() + ChunkedBlobWriter::kBuffers * kChunk + 1000, kChunk - 1000).ok());
  pool.run_all();
  CHECK(resumed == 1);
  check_finished(*w, f, all);
}

TEST_CASE("a destroyed writer never calls its pending resume; its queued jobs do no harm") {
  File f;
  ManualPool pool;
  int resumed = 0;
  {
    auto w = make_writer(f.fd, pool.post());
    std::string all = random_bytes((ChunkedBlobWriter::kBuffers + 1) * kChunk, 12);
    REQUIRE(w->append(all.data(), all.size()).ok());
    CHECK_FALSE(w->wait_for_room([&] { ++resumed; }));
  }
  pool.run_all();
  CHECK(resumed == 0);
}

TEST_CASE("a failed write is reported, a full disk as 507, and a paused loop is resumed to see it") {
  int fd = ::open("/dev/full", O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  ManualPool pool;
  auto w = make_writer(fd, pool.post());
  std::string all = random_bytes((ChunkedBlobWriter::kBuffers + 1) * kChunk, 13);
  REQUIRE(w->append(all.data(), all.size()).ok());
  int resumed = 0;
  CHECK_FALSE(w->wait_for_room([&] { ++resumed; }));
  pool.run_all();
  CHECK(resumed == 1);
  CHECK(w->wait_for_room([] {}));
  auto more = w->append("x", 1);
  REQUIRE_FALSE(more.ok());
  CHECK(more.error().code == 507);
  auto md5 = w->finish();
  REQUIRE_FALSE(md5.ok());
  CHECK(md5.error().code == 507);
  ::close(fd);
}

TEST_CASE("with no pool a full disk fails the append that fills the chunk") {
  int fd = ::open("/dev/full", O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  auto w = make_writer(fd, {});
  std::string all = random_bytes(kChunk, 14);
  auto st = w->append(all.data(), all.size());
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == 507);
  ::close(fd);
}
