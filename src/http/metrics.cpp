#include "http/metrics.h"

#include <set>
#include <sstream>

namespace wirebox::http {

Metrics& Metrics::instance() {
  static Metrics m;
  return m;
}

Counter& Metrics::counter(const std::string& name, const std::string& help) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : counters_)
    if (c.name == name) return *c.counter;
  counters_.push_back({name, help, std::make_unique<Counter>()});
  return *counters_.back().counter;
}

void Metrics::gauge(const std::string& name, const std::string& help, std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.push_back({name, help, std::move(read)});
}

void Metrics::counter_fn(const std::string& name, const std::string& help, std::function<uint64_t()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  read_counters_.push_back({name, help, std::move(read)});
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream out;
  std::set<std::string> described;
  auto base = [](const std::string& n) { return n.substr(0, n.find('{')); };
  for (const auto& c : counters_) {
    if (described.insert(base(c.name)).second)
      out << "# HELP " << base(c.name) << ' ' << c.help << "\n# TYPE " << base(c.name) << " counter\n";
    out << c.name << ' ' << c.counter->value() << '\n';
  }
  for (const auto& c : read_counters_) {
    if (described.insert(base(c.name)).second)
      out << "# HELP " << base(c.name) << ' ' << c.help << "\n# TYPE " << base(c.name) << " counter\n";
    out << c.name << ' ' << c.read() << '\n';
  }
  for (const auto& g : gauges_) {
    if (described.insert(base(g.name)).second)
      out << "# HELP " << base(g.name) << ' ' << g.help << "\n# TYPE " << base(g.name) << " gauge\n";
    out << g.name << ' ' << g.read() << '\n';
  }
  return out.str();
}

}  // namespace wirebox::http
