// AllocationQuota: counts allocations per user (the r= of the Wire username) and in total,
// across all event loops, to enforce turn.max_allocations(_per_user). Touched only when an
// allocation is created or destroyed, never per packet.
//
// Thread safety: all methods are safe from every thread (one mutex).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace wirebox::turn {

class AllocationQuota {
 public:
  AllocationQuota(uint32_t max_total, uint32_t max_per_user) : max_total_(max_total), max_per_user_(max_per_user) {}

  enum class Outcome { kGranted, kUserQuotaReached, kServerFull };
  Outcome acquire(std::string_view user);
  void release(std::string_view user);
  uint32_t total() const;

 private:
  mutable std::mutex mutex_;
  uint32_t max_total_;
  uint32_t max_per_user_;
  uint32_t total_ = 0;
  std::unordered_map<std::string, uint32_t> per_user_;
};

}  // namespace wirebox::turn
