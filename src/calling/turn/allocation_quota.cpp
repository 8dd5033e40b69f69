#include "calling/turn/allocation_quota.h"

namespace wirebox::turn {

AllocationQuota::Outcome AllocationQuota::acquire(std::string_view user) {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) return Outcome::kServerFull;
  auto [it, inserted] = per_user_.try_emplace(std::string(user), 0);
  if (it->second >= max_per_user_) return Outcome::kUserQuotaReached;
  ++it->second;
  ++total_;
  return Outcome::kGranted;
}

void AllocationQuota::release(std::string_view user) {
  std::lock_guard lock(mutex_);
  auto it = per_user_.find(std::string(user));
  if (it == per_user_.end()) return;
  --total_;
  if (--it->second == 0) per_user_.erase(it);
}

uint32_t AllocationQuota::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace wirebox::turn
