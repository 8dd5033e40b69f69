#include <catch2/catch.hpp>

#include "http/metrics.h"

using namespace wirebox;
using Catch::Matchers::Contains;

TEST_CASE("Metrics renders counters and gauges in Prometheus text format", "[metrics]") {
  auto& m = http::Metrics::instance();
  auto& a = m.counter("wbtest_requests_total{kind=\"a\"}", "Test requests");
  auto& b = m.counter("wbtest_requests_total{kind=\"b\"}", "");
  CHECK(&m.counter("wbtest_requests_total{kind=\"a\"}", "ignored") == &a);  // same name, same counter
  a.inc();
  a.inc(4);
  b.inc();
  m.gauge("wbtest_temperature", "A gauge", [] { return 21.5; });

  std::string text = m.render();
  CHECK_THAT(text, Contains("# HELP wbtest_requests_total Test requests\n# TYPE wbtest_requests_total counter\n"));
  CHECK_THAT(text, Contains("wbtest_requests_total{kind=\"a\"} 5\n"));
  CHECK_THAT(text, Contains("wbtest_requests_total{kind=\"b\"} 1\n"));
  CHECK_THAT(text, Contains("# TYPE wbtest_temperature gauge\nwbtest_temperature 21.5\n"));
  // One HELP/TYPE per metric family, not per labelled series.
  size_t first = text.find("# TYPE wbtest_requests_total");
  CHECK(text.find("# TYPE wbtest_requests_total", first + 1) == std::string::npos);
}

TEST_CASE("Metrics reads counters kept elsewhere when scraped, as exact integers", "[metrics]") {
  auto& m = http::Metrics::instance();
  static uint64_t value = 12'345'678'901;  // static: the registry outlives this test
  m.counter_fn("wbtest_read_bytes_total{dir=\"in\"}", "Bytes read", [] { return value; });
  m.counter_fn("wbtest_read_bytes_total{dir=\"out\"}", "", [] { return uint64_t{7}; });
  std::string text = m.render();
  CHECK_THAT(text, Contains("# HELP wbtest_read_bytes_total Bytes read\n# TYPE wbtest_read_bytes_total counter\n"
                            "wbtest_read_bytes_total{dir=\"in\"} 12345678901\nwbtest_read_bytes_total{dir=\"out\"} 7\n"));
  value += 1;
  CHECK_THAT(m.render(), Contains("wbtest_read_bytes_total{dir=\"in\"} 12345678902\n"));
}
