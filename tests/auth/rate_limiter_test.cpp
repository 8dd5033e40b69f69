#include <catch2/catch.hpp>

#include "auth/rate_limiter.h"

using wirebox::auth::RateLimiter;

TEST_CASE("rate limiter allows the limit per key per minute") {
  RateLimiter rl(3);
  for (int i = 0; i < 3; ++i) CHECK(rl.allow("a", 1000));
  CHECK_FALSE(rl.allow("a", 1000));
  CHECK(rl.allow("b", 1000));           // keys are independent
  CHECK_FALSE(rl.allow("a", 60999));    // same window
  CHECK(rl.allow("a", 61000));          // next window
}

TEST_CASE("exhausted() tells a used-up key without recording an event") {
  RateLimiter rl(2);
  CHECK_FALSE(rl.exhausted("a", 1000));
  CHECK_FALSE(rl.exhausted("a", 1000));  // asking records nothing
  CHECK(rl.allow("a", 1000));
  CHECK_FALSE(rl.exhausted("a", 1000));
  CHECK(rl.allow("a", 1000));
  CHECK(rl.exhausted("a", 1000));
  CHECK_FALSE(rl.exhausted("b", 1000));
  CHECK_FALSE(rl.exhausted("a", 61000));  // next window
}
