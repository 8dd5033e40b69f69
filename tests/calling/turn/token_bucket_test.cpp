// TokenBucket with explicit times: the burst passes at once, then the rate holds; refills are
// exact at millisecond steps; give_back undoes a take; a bucket never holds more than its burst.
#include <catch2/catch.hpp>

#include "calling/turn/token_bucket.h"

using wirebox::turn::TokenBucket;

TEST_CASE("a default bucket is unlimited", "[turn][bandwidth]") {
  TokenBucket b;
  CHECK(b.unlimited());
  for (int i = 0; i < 1000; ++i) REQUIRE(b.try_take(1 << 20, 0));
}

TEST_CASE("the burst passes at once, then nothing until time passes", "[turn][bandwidth]") {
  TokenBucket b(1000, 3000, 100);  // 1000 B/s, 3000 B burst
  CHECK_FALSE(b.unlimited());
  CHECK(b.try_take(1000, 100));
  CHECK(b.try_take(2000, 100));
  CHECK_FALSE(b.try_take(1, 100));
  CHECK(b.available_bytes() == 0);
  // A refused packet takes nothing: a smaller one still fits once refilled.
  CHECK_FALSE(b.try_take(500, 200));  // 100 ms: 100 B
  CHECK(b.try_take(100, 200));
}

TEST_CASE("refill follows the rate exactly, in millisecond steps", "[turn][bandwidth]") {
  TokenBucket b(1500, 1500, 0);  // 1.5 bytes per millisecond
  REQUIRE(b.try_take(1500, 0));
  // 1 ms at a time for 2 s: no rounding loss, 3000 bytes in all (the burst caps nothing here
  // since every byte is taken as it arrives).
  uint64_t passed = 0;
  for (int64_t t = 1; t <= 2000; ++t)
    while (b.try_take(1, t)) ++passed;
  CHECK(passed == 3000);
}

TEST_CASE("a long idle time refills only up to the burst", "[turn][bandwidth]") {
  TokenBucket b(1000, 2000, 0);
  REQUIRE(b.try_take(2000, 0));
  CHECK(b.available_bytes() == 0);
  CHECK(b.try_take(0, int64_t{1} << 40));  // far later: the elapsed time is capped, no overflow
  CHECK(b.available_bytes() == 2000);
  CHECK_FALSE(b.try_take(2001, (int64_t{1} << 40) + 1));
}

TEST_CASE("sustained sending gets the rate plus the burst", "[turn][bandwidth]") {
  // 10 Mbit/s, 1 s burst, offered 1200-byte packets at 3x the rate for 10 s.
  const uint64_t rate = 1'250'000;
  TokenBucket b(rate, rate, 0);
  uint64_t passed_bytes = 0;
  const uint64_t packets_per_ms = 3 * rate / 1000 / 1200 + 1;
  for (int64_t t = 0; t < 10'000; ++t)
    for (uint64_t k = 0; k < packets_per_ms; ++k)
      if (b.try_take(1200, t)) passed_bytes += 1200;
  // The burst plus what 9999 ms of refill brought, less the remainder smaller than a packet.
  const uint64_t earned = rate + 9999 * rate / 1000;
  CHECK(passed_bytes <= earned);
  CHECK(passed_bytes > earned - 1200);
}

TEST_CASE("give_back returns what a take took, never beyond the burst", "[turn][bandwidth]") {
  TokenBucket b(1000, 1000, 0);
  REQUIRE(b.try_take(600, 0));
  b.give_back(600);
  CHECK(b.available_bytes() == 1000);
  b.give_back(600);
  CHECK(b.available_bytes() == 1000);
  TokenBucket unlimited;
  unlimited.give_back(10);
  CHECK(unlimited.try_take(1, 0));
}

TEST_CASE("a clock going backwards neither refills nor breaks the bucket", "[turn][bandwidth]") {
  TokenBucket b(1000, 1000, 5000);
  REQUIRE(b.try_take(1000, 5000));
  CHECK_FALSE(b.try_take(1, 4000));
  CHECK(b.try_take(100, 5100));  // refills from the latest time seen
  CHECK_FALSE(b.try_take(1, 5100));
}
