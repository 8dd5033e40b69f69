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

std::mutex mu;
uint64_t last = 0;  // highest timestamp handed out or observed
unsigned char node[6];
uint16_t clock_seq = 0;
bool init = false;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<uint64_t> time_uuid_ticks(std::string_view id) {
  if (id.size() != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-') return std::nullopt;
  uint64_t fields[3] = {0, 0, 0};  // time_low, time_mid, time_hi_and_version
  const size_t starts[3] = {0, 9, 14}, lens[3] = {8, 4, 4};
  for (int f = 0; f < 3; ++f)
    for (size_t i = 0; i < lens[f]; ++i) {
      int v = hex_value(id[starts[f] + i]);
      if (v < 0) return std::nullopt;
      fields[f] = (fields[f] << 4) | static_cast<uint64_t>(v);
    }
  for (size_t i = 19; i < 36; ++i)
    if (i != 23 && hex_value(id[i]) < 0) return std::nullopt;
  if ((fields[2] >> 12) != 1) return std::nullopt;
  return ((fields[2] & 0x0fff) << 48) | (fields[1] << 32) | fields[0];
}

int64_t time_uuid_ticks_to_ms(uint64_t ticks) {
  return ticks < kGregorianOffset ? 0 : static_cast<int64_t>((ticks - kGregorianOffset) / 10000);
}

void observe_time_uuid(std::string_view id) {
  auto ticks = time_uuid_ticks(id);
  if (!ticks) return;
  std::lock_guard<std::mutex> lock(mu);
  if (*ticks > last) last = *ticks;
}

std::string new_time_uuid() {
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
