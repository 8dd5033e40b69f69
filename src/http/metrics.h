// Process-wide Prometheus metrics: lock-free counters updated on hot paths, and gauges read
// through callbacks when /metrics is scraped. Registration happens at start-up; counters are
// then updated from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace wirebox::http {

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Metrics {
 public:
  static Metrics& instance();

  // name may carry labels: wirebox_http_responses_total{class="2xx"}
  Counter& counter(const std::string& name, const std::string& help);
  void gauge(const std::string& name, const std::string& help, std::function<double()> read);
  // A counter kept elsewhere (e.g. summed over per-thread counters), read when scraped; exact
  // integer output, unlike a gauge.
  void counter_fn(const std::string& name, const std::string& help, std::function<uint64_t()> read);

  std::string render() const;  // Prometheus text exposition format 0.0.4

 private:
  struct CounterEntry {
    std::string name, help;
    std::unique_ptr<Counter> counter;
  };
  struct GaugeEntry {
    std::string name, help;
    std::function<double()> read;
  };
  struct ReadCounterEntry {
    std::string name, help;
    std::function<uint64_t()> read;
  };
  mutable std::mutex mu_;
  std::vector<CounterEntry> counters_;
  std::vector<ReadCounterEntry> read_counters_;
  std::vector<GaugeEntry> gauges_;
};

}  // namespace wirebox::http
