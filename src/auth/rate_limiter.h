// RateLimiter: at most `limit` events per key per fixed one-minute window, in memory.
// Used for login attempts per account and per client address, and registrations per client
// address. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace wirebox::auth {

// The key of a client address for per-address limits: an IPv4 address as it is (also when it
// comes IPv4-mapped, "::ffff:a.b.c.d", from a dual-stack socket), an IPv6 address as its /64
// network ("2001:db8:1:2::/64"): one subscriber usually holds a whole /64, so counting single
// IPv6 addresses would give them 2^64 separate limits. Anything unparsable is its own key.
std::string address_limit_key(std::string_view address);

class RateLimiter {
 public:
  explicit RateLimiter(int limit_per_minute) : limit_(limit_per_minute) {}
  // Records one event; false if the key is over its limit in the current window.
  bool allow(const std::string& key, int64_t now_ms);
  // Takes back one event allow() recorded for the key in the current window. For limits on
  // failures (wrong passwords): allow() reserves a place before the attempt (so attempts running
  // side by side cannot all pass a check made before any of them failed), give_back() returns it
  // when the attempt succeeds.
  void give_back(const std::string& key, int64_t now_ms);

 private:
  struct Window {
    int64_t start_ms;
    int count;
  };
  int limit_;
  std::mutex mu_;
  std::unordered_map<std::string, Window> windows_;
  int64_t last_prune_ms_ = 0;
};

}  // namespace wirebox::auth
