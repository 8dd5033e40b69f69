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

TEST_CASE("per-address limits count an IPv4 address alone and an IPv6 address with its /64") {
  using wirebox::auth::address_limit_key;
  CHECK(address_limit_key("192.0.2.7") == "ip:192.0.2.7");
  CHECK(address_limit_key("192.0.2.7") != address_limit_key("192.0.2.8"));
  // From a dual-stack socket an IPv4 client comes IPv4-mapped: the same key as plain IPv4.
  CHECK(address_limit_key("::ffff:192.0.2.7") == "ip:192.0.2.7");
  // Every address of one /64 is one key; the next /64 is another.
  CHECK(address_limit_key("2001:db8:1:2::1") == "ip:2001:db8:1:2::/64");
  CHECK(address_limit_key("2001:db8:1:2:ffff:eeee:dddd:cccc") == "ip:2001:db8:1:2::/64");
  CHECK(address_limit_key("2001:db8:1:3::1") == "ip:2001:db8:1:3::/64");
  CHECK(address_limit_key("::1") == "ip:::/64");
  CHECK(address_limit_key("") == "ip:");
  CHECK(address_limit_key("not:an:address") == "ip:not:an:address");
}

TEST_CASE("give_back() returns a reserved place within the window only") {
  RateLimiter rl(2);
  CHECK(rl.allow("a", 1000));
  CHECK(rl.allow("a", 1000));
  CHECK_FALSE(rl.allow("a", 1000));  // both places reserved: a third attempt is refused at once
  rl.give_back("a", 1000);           // one attempt succeeded
  CHECK(rl.allow("a", 1000));
  rl.give_back("b", 1000);           // unknown key: nothing happens
  CHECK(rl.allow("b", 1000));
  CHECK(rl.allow("b", 1000));
  CHECK_FALSE(rl.allow("b", 1000));
  rl.give_back("a", 61000);  // the window is over: nothing to give back into
  CHECK(rl.allow("a", 61000));
  CHECK(rl.allow("a", 61000));
  CHECK_FALSE(rl.allow("a", 61000));
}
