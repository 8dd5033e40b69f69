#include "core/time.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace wirebox {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t now_seconds() { return now_ms() / 1000; }

std::string iso8601_ms(int64_t epoch_ms) {
  // Floor division: with truncation, pre-1970 instants rendered a negative millisecond field
  // ("...00:00:00.-01Z" for -1) on the wrong second.
  int64_t ms = epoch_ms % 1000;
  if (ms < 0) ms += 1000;
  time_t secs = static_cast<time_t>((epoch_ms - ms) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  // Sized for the widest int fields: GCC's -Wformat-truncation (an error under WIREBOX_WERROR
  // at -O2) rejected the former 40-byte buffer.
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string http_date(int64_t epoch_seconds) {
  time_t secs = static_cast<time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

}  // namespace wirebox
