#include "core/log.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

namespace wirebox::log {
namespace {

Poco::Logger& root() {
  static Poco::Logger& logger = [] () -> Poco::Logger& {
    Poco::AutoPtr<Poco::PatternFormatter> fmt(new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %q %s: %t"));
    Poco::AutoPtr<Poco::FormattingChannel> ch(new Poco::FormattingChannel(fmt, new Poco::ConsoleChannel));
    Poco::Logger& l = Poco::Logger::get("wirebox");
    l.setChannel(ch);
    l.setLevel(Poco::Message::PRIO_INFORMATION);
    return l;
  }();
  return logger;
}

Poco::Message::Priority to_poco(Level level) {
  switch (level) {
    case Level::kDebug: return Poco::Message::PRIO_DEBUG;
    case Level::kInfo: return Poco::Message::PRIO_INFORMATION;
    case Level::kWarning: return Poco::Message::PRIO_WARNING;
    case Level::kError: return Poco::Message::PRIO_ERROR;
  }
  return Poco::Message::PRIO_INFORMATION;
}

}  // namespace

void init(Level min_level) { root().setLevel(to_poco(min_level)); }

void write(Level level, std::string_view component, std::string_view message) {
  Poco::Logger& l = root();
  auto prio = to_poco(level);
  if (!l.is(prio)) return;
  l.log(Poco::Message(std::string(component), std::string(message), prio));
}

bool parse_level(std::string_view name, Level& out) {
  if (name == "debug") out = Level::kDebug;
  else if (name == "info") out = Level::kInfo;
  else if (name == "warning" || name == "warn") out = Level::kWarning;
  else if (name == "error") out = Level::kError;
  else return false;
  return true;
}

}  // namespace wirebox::log
