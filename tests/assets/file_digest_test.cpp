// FileDigest: the MD5 computed behind the writer equals the MD5 of the whole file whatever the
// piece sizes and however the background jobs interleave; finish() never waits for a job that
// has not started; a file that shrank under it is an error, not a wrong digest.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <deque>
#include <functional>
#include <random>
#include <string>

#include <openssl/evp.h>

#include "assets/file_digest.h"
#include "support/temp_dir.h"

using wirebox::assets::FileDigest;

namespace {

std::string md5_of(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), len);
}

// A pool that runs nothing until told: the test decides when jobs run.
struct ManualPool {
  std::deque<std::function<void()>> jobs;
  FileDigest::Post post() {
    return [this](std::function<void()> job) { jobs.push_back(std::move(job)); };
  }
  void run_all() {
    while (!jobs.empty()) {
      auto job = std::move(jobs.front());
      jobs.pop_front();
      job();
    }
  }
};

struct File {
  wirebox::test::TempDir dir;
  int fd = -1;
  File() { fd = ::open((dir.path() + "/blob").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600); }
  ~File() { ::close(fd); }
  void append(const std::string& bytes) { REQUIRE(::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size())); }
};

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace

TEST_CASE("the background MD5 equals the whole file's MD5 for any piece sizes and job timing") {
  for (unsigned seed = 1; seed <= 6; ++seed) {
    File file;
    ManualPool pool;
    auto digest = FileDigest::create(file.fd, pool.post());
    REQUIRE(digest.ok());
    std::mt19937 rng(seed);
    std::string all = random_bytes(3 * FileDigest::kChunkBytes + 12345 * seed, seed);
    size_t at = 0;
    size_t jobs_run = 0;
    while (at < all.size()) {
      size_t piece = std::min<size_t>(all.size() - at, 1 + rng() % (600 * 1024));
      file.append(all.substr(at, piece));
      at += piece;
      (*digest)->appended(at);
      CHECK(pool.jobs.size() <= 1);  // one job per file at a time
      if (rng() % 2) {
        jobs_run += pool.jobs.size();
        pool.run_all();
      }
    }
    pool.run_all();
    auto md5 = (*digest)->finish();
    REQUIRE(md5.ok());
    CHECK(*md5 == md5_of(all));
    CHECK(jobs_run > 0);
  }
}

TEST_CASE("finish does not wait for a job still queued, and the late job changes nothing") {
  File file;
  ManualPool pool;
  auto digest = FileDigest::create(file.fd, pool.post());
  REQUIRE(digest.ok());
  std::string all = random_bytes(2 * FileDigest::kChunkBytes + 7, 9);
  file.append(all);
  (*digest)->appended(all.size());
  REQUIRE(pool.jobs.size() == 1);  // queued behind finish() on a busy pool
  auto md5 = (*digest)->finish();
  REQUIRE(md5.ok());
  CHECK(*md5 == md5_of(all));
  pool.run_all();  // the queued job runs after finish(): it must not touch the digest
  digest->reset();
  pool.run_all();
}

TEST_CASE("without a pool everything is hashed in finish") {
  File file;
  auto digest = FileDigest::create(file.fd, {});
  REQUIRE(digest.ok());
  std::string all = random_bytes(FileDigest::kChunkBytes * 2 + 1, 3);
  file.append(all);
  (*digest)->appended(all.size());
  auto md5 = (*digest)->finish();
  REQUIRE(md5.ok());
  CHECK(*md5 == md5_of(all));
  CHECK(md5_of("") != *md5);
}

TEST_CASE("a job that outlives its FileDigest runs harmlessly") {
  File file;
  ManualPool pool;
  auto digest = FileDigest::create(file.fd, pool.post());
  REQUIRE(digest.ok());
  file.append(random_bytes(FileDigest::kChunkBytes + 1, 4));
  (*digest)->appended(FileDigest::kChunkBytes + 1);
  REQUIRE(pool.jobs.size() == 1);
  digest->reset();  // the upload failed or the client went away
  pool.run_all();
}

TEST_CASE("a file shorter than reported is an error, not a wrong digest") {
  File file;
  auto digest = FileDigest::create(file.fd, {});
  REQUIRE(digest.ok());
  file.append("only eleven");
  (*digest)->appended(100);
  auto md5 = (*digest)->finish();
  REQUIRE_FALSE(md5.ok());
  CHECK(md5.error().code == 500);
}
