#include "notifications/time_uuid.h"

#include <cstdio>
#include <cstring>
#include <mutex>

#include "core/encoding.h"
#include "core/time.h"

namespace wirebox::notifications {
namespace {

constexpr uint64_t kGregorianOffset = 0x01B21DD213814000ULL;  // 100 ns ticks from 1582-10-15 to 1970

std::string format(uint64_t ticks, uint16_t clock_seq, const unsigned char node[6]) {
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%02x%02x%02x%02x%02x%02x",
                static_cast<unsigned>(ticks & 0xffffffffULL), static_cast<unsigned>((ticks >> 32) & 0xffff),
                static_cast<unsigned>(((ticks >> 48) & 0x0fff) | 0x1000),
                static_cast<unsigned>((clock_seq & 0x3fff) | 0x8000), node[0], node[1], node[2], node[3], node[4],
                node[5]);
  return buf;
}

}  // namespace

std::string new_time_uuid() {
  static std::mutex mu;
  static uint64_t last = 0;
  static unsigned char node[6];
  static uint16_t clock_seq = 0;
  static bool init = false;
  std::lock_guard<std::mutex> lock(mu);
  if (!init) {
    std::string r = random_bytes(8);
    std::memcpy(node, r.data(), 6);
    node[0] |= 0x01;  // multicast bit: a random node id, not a MAC
    clock_seq = static_cast<uint16_t>((static_cast<unsigned char>(r[6]) << 8) | static_cast<unsigned char>(r[7]));
    init = true;
  }
  uint64_t ticks = static_cast<uint64_t>(now_ms()) * 10000 + kGregorianOffset;
  if (ticks <= last) ticks = last + 1;
  last = ticks;
  return format(ticks, clock_seq, node);
}

std::string time_uuid_at(int64_t epoch_ms, uint16_t sequence) {
  static const unsigned char node[6] = {1, 0, 0, 0, 0, 0};
  return format(static_cast<uint64_t>(epoch_ms) * 10000 + kGregorianOffset + sequence, 0, node);
}

}  // namespace wirebox::notifications
