#include "auth/rate_limiter.h"

#include <arpa/inet.h>

#include <cstring>

namespace wirebox::auth {

std::string address_limit_key(std::string_view address) {
  std::string text(address);
  in6_addr v6{};
  if (text.find(':') == std::string::npos || ::inet_pton(AF_INET6, text.c_str(), &v6) != 1) return "ip:" + text;
  char out[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    in_addr v4{};
    std::memcpy(&v4, v6.s6_addr + 12, 4);
    ::inet_ntop(AF_INET, &v4, out, sizeof out);
    return std::string("ip:") + out;
  }
  std::memset(v6.s6_addr + 8, 0, 8);
  ::inet_ntop(AF_INET6, &v6, out, sizeof out);
  return std::string("ip:") + out + "/64";
}

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

void RateLimiter::give_back(const std::string& key, int64_t now_ms) {
  constexpr int64_t kWindowMs = 60000;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = windows_.find(key);
  if (it != windows_.end() && now_ms - it->second.start_ms < kWindowMs && it->second.count > 0) --it->second.count;
}

}  // namespace wirebox::auth
