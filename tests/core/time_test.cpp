#include <catch2/catch.hpp>

#include "core/time.h"

using namespace wirebox;

TEST_CASE("iso8601_ms renders UTC with millisecond precision", "[time]") {
  CHECK(iso8601_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(iso8601_ms(1) == "1970-01-01T00:00:00.001Z");
  CHECK(iso8601_ms(999) == "1970-01-01T00:00:00.999Z");
  CHECK(iso8601_ms(1000) == "1970-01-01T00:00:01.000Z");
  CHECK(iso8601_ms(1700000000123) == "2023-11-14T22:13:20.123Z");
  CHECK(iso8601_ms(951782400000) == "2000-02-29T00:00:00.000Z");  // leap day
  CHECK(iso8601_ms(253402300799999) == "9999-12-31T23:59:59.999Z");
}

TEST_CASE("iso8601_ms floors instants before the epoch", "[time]") {
  CHECK(iso8601_ms(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(iso8601_ms(-1000) == "1969-12-31T23:59:59.000Z");
  CHECK(iso8601_ms(-1001) == "1969-12-31T23:59:58.999Z");
}

TEST_CASE("http_date is an RFC 7231 IMF-fixdate", "[time]") {
  CHECK(http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(http_date(1700000000) == "Tue, 14 Nov 2023 22:13:20 GMT");
  CHECK(http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");  // the RFC's example
}

TEST_CASE("now_ms and now_seconds agree and are plausible", "[time]") {
  int64_t s1 = now_seconds();
  int64_t ms = now_ms();
  int64_t s2 = now_seconds();
  CHECK(ms / 1000 >= s1);
  CHECK(ms / 1000 <= s2);
  CHECK(s1 > 1600000000);  // after 2020
  CHECK(iso8601_ms(ms).size() == 24);
}
