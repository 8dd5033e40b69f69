#include <string>

#include <catch2/catch.hpp>

#include "core/encoding.h"
#include "http/gzip.h"

using namespace wirebox;
using http::GunzipResult;

TEST_CASE("gzip/gunzip round-trip", "[gzip]") {
  const std::string inputs[] = {
      "",
      "{}",
      R"({"email":"alice@example.com","password":"correct horse battery staple"})",
      std::string(100000, 'x'),
      random_bytes(70000),  // incompressible, spans several inflate buffers
  };
  for (const auto& plain : inputs) {
    CAPTURE(plain.size());
    std::string gz = http::gzip(plain);
    REQUIRE(gz.size() >= 18);  // header + trailer
    CHECK(static_cast<unsigned char>(gz[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(gz[1]) == 0x8b);
    std::string out = "stale";
    CHECK(http::gunzip(gz, plain.size() + 1, out) == GunzipResult::kOk);
    CHECK(out == plain);
  }
}

TEST_CASE("gunzip limit is on decompressed bytes and inclusive", "[gzip]") {
  std::string plain(40000, 'a');  // not a multiple of the 16 KiB inflate buffer
  std::string gz = http::gzip(plain);
  std::string out;
  CHECK(http::gunzip(gz, plain.size(), out) == GunzipResult::kOk);
  CHECK(out.size() == plain.size());
  CHECK(http::gunzip(gz, plain.size() - 1, out) == GunzipResult::kTooLarge);
  CHECK(out.empty());

  std::string exact(32768, 'b');  // exactly two inflate buffers
  CHECK(http::gunzip(http::gzip(exact), exact.size(), out) == GunzipResult::kOk);
  CHECK(out == exact);
}

TEST_CASE("a gzip bomb stops at the limit", "[gzip]") {
  std::string bomb = http::gzip(std::string(16 << 20, '\0'));  // 16 MiB of zeros
  REQUIRE(bomb.size() < 100 * 1024);                               // ... in well under 100 KiB
  std::string out;
  CHECK(http::gunzip(bomb, 1 << 20, out) == GunzipResult::kTooLarge);
  CHECK(out.empty());
  CHECK(out.capacity() < (4u << 20));  // it stopped early instead of inflating everything
}

TEST_CASE("truncated or corrupt gzip is kCorrupt", "[gzip]") {
  std::string plain = R"({"a":"some text that compresses","b":[1,2,3,4,5,6,7,8,9,10]})";
  std::string gz = http::gzip(plain);
  std::string out;

  SECTION("every truncation") {
    for (size_t n = 0; n < gz.size(); ++n) {
      CAPTURE(n);
      CHECK(http::gunzip(std::string_view(gz).substr(0, n), 1 << 20, out) == GunzipResult::kCorrupt);
      CHECK(out.empty());
    }
  }
  SECTION("a flipped bit in the deflate data or the CRC") {
    for (size_t pos : {size_t{12}, gz.size() / 2, gz.size() - 6}) {
      CAPTURE(pos);
      std::string bad = gz;
      bad[pos] = static_cast<char>(bad[pos] ^ 0x10);
      CHECK(http::gunzip(bad, 1 << 20, out) == GunzipResult::kCorrupt);
      CHECK(out.empty());
    }
  }
  SECTION("not gzip at all") {
    CHECK(http::gunzip(plain, 1 << 20, out) == GunzipResult::kCorrupt);
    CHECK(http::gunzip("\x1f\x8b garbage", 1 << 20, out) == GunzipResult::kCorrupt);
  }
}
