// Structured logging to stdout (journald captures it under systemd): one line per event,
// "time level component: message key=value ...". Backed by Poco's Logger; thread-safe.
// Never log secrets, tokens, passwords or message payloads.
#pragma once

#include <string>
#include <string_view>

namespace wirebox::log {

enum class Level { kDebug, kInfo, kWarning, kError };

void init(Level min_level);  // call once at start-up; before that, logs go to stdout at info
void write(Level level, std::string_view component, std::string_view message);

inline void debug(std::string_view c, std::string_view m) { write(Level::kDebug, c, m); }
inline void info(std::string_view c, std::string_view m) { write(Level::kInfo, c, m); }
inline void warn(std::string_view c, std::string_view m) { write(Level::kWarning, c, m); }
inline void error(std::string_view c, std::string_view m) { write(Level::kError, c, m); }

bool parse_level(std::string_view name, Level& out);

}  // namespace wirebox::log
