// AcceptPause: what a listener does when accept() fails for want of file descriptors or
// memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
//
// The connection that could not be accepted stays in the listen backlog, so the listening
// socket stays readable: accepting again at once fails again, and the loop spins a core for as
// long as the shortage lasts (measured before this existed: 100 % of a core, and no other
// client served, with 80 idle clients under `ulimit -n 48`). A listener that gets such an error
// waits kPause before its next accept instead; connections that close meanwhile free what the
// next accept needs. Other errors (a client that reset before it was accepted) are retried at
// once, as before. One per listener, used on the listener's loop only (not thread-safe).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

namespace wirebox {

class AcceptPause {
 public:
  static constexpr std::chrono::milliseconds kPause{100};

  // True if `ec` is a shortage to pause for; warns in the log at most once a minute, naming
  // the listener.
  bool needed(const boost::system::error_code& ec, std::string_view listener);

 private:
  std::chrono::steady_clock::time_point last_warning_{};
  bool warned_ = false;
};

}  // namespace wirebox
