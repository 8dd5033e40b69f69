// TokenBucket: a byte-rate limit with a burst allowance, for the relay's bandwidth caps. Tokens
// (bytes) refill continuously at `bytes_per_second` up to `burst_bytes`; a packet passes if its
// size is available and is refused otherwise (the caller drops it: relayed media is never
// queued). Times are passed in (milliseconds on a monotonic clock), so it is testable without
// clocks. Tokens are kept in thousandths of a byte, so refills every millisecond lose nothing
// to rounding at any rate.
//
// A default-constructed bucket (rate 0) is unlimited: try_take() is one predictable branch.
// Thread safety: none; each bucket belongs to one event loop. No allocation, no lock.
#pragma once

#include <algorithm>
#include <cstdint>

namespace wirebox::turn {

class TokenBucket {
 public:
  TokenBucket() = default;
  // Starts full. bytes_per_second 0 = unlimited.
  TokenBucket(uint64_t bytes_per_second, uint64_t burst_bytes, int64_t now_ms)
      : rate_(bytes_per_second), capacity_(burst_bytes * 1000), tokens_(capacity_), last_ms_(now_ms) {}

  bool unlimited() const { return rate_ == 0; }

  // Refills for the time since the last call, then takes `bytes` if that many are there.
  bool try_take(uint64_t bytes, int64_t now_ms) {
    if (rate_ == 0) return true;
    if (now_ms > last_ms_) {
      // Past a full refill the exact time does not matter; capping it keeps the product in range.
      auto elapsed = static_cast<uint64_t>(std::min<int64_t>(now_ms - last_ms_, kMaxRefillMs));
      tokens_ = std::min(capacity_, tokens_ + elapsed * rate_);
      last_ms_ = now_ms;
    }
    uint64_t cost = bytes * 1000;
    if (cost > tokens_) return false;
    tokens_ -= cost;
    return true;
  }

  // Returns what try_take() took, when a second limit refused the same packet.
  void give_back(uint64_t bytes) {
    if (rate_ != 0) tokens_ = std::min(capacity_, tokens_ + bytes * 1000);
  }

  uint64_t available_bytes() const { return tokens_ / 1000; }

 private:
  // Longer than any burst the relay configures (burst_bytes / rate is 1 s or the minimum burst
  // at the lowest rate), and small enough that elapsed * rate fits 64 bits at 100 Gbit/s.
  static constexpr int64_t kMaxRefillMs = 3'600'000;

  uint64_t rate_ = 0;      // bytes per second = thousandths of a byte per millisecond
  uint64_t capacity_ = 0;  // thousandths of a byte
  uint64_t tokens_ = 0;
  int64_t last_ms_ = 0;
};

}  // namespace wirebox::turn
