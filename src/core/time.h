// Wall-clock helpers. Wire renders times as ISO 8601 UTC with millisecond precision.
#pragma once

#include <cstdint>
#include <string>

namespace wirebox {

int64_t now_ms();       // Unix epoch milliseconds
int64_t now_seconds();  // Unix epoch seconds
std::string iso8601_ms(int64_t epoch_ms);  // "2026-11-23T05:21:00.123Z"
std::string http_date(int64_t epoch_seconds);  // RFC 7231 IMF-fixdate, for cookie Expires

}  // namespace wirebox
