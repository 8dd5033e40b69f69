#include "auth/rate_limiter.h"

namespace wirebox::auth {

bool RateLimiter::allow(const std::string& key, int64_t now_ms) {
  constexpr int64_t kWindowMs = 60000;
  std::lock_guard<std::mutex> lock(mu_);
  if (now_ms - last_prune_ms_ > kWindowMs) {  // drop stale windows so memory stays bounded
    for (auto it = windows_.begin(); it != windows_.end();) {
      if (now_ms - it->second.start_ms >= kWindowMs) it = windows_.erase(it);
      else ++it;
    }
    last_prune_ms_ = now_ms;
  }
  auto& w = windows_[key];
  if (w.count == 0 || now_ms - w.start_ms >= kWindowMs) w = {now_ms, 0};
  if (w.count >= limit_) return false;
  ++w.count;
  return true;
}

bool RateLimiter::exhausted(const std::string& key, int64_t now_ms) {
  constexpr int64_t kWindowMs = 60000;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = windows_.find(key);
  return it != windows_.end() && now_ms - it->second.start_ms < kWindowMs && it->second.count >= limit_;
}

}  // namespace wirebox::auth
