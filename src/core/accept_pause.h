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
#include <utility>

#include <boost/system/error_code.hpp>

namespace wirebox {

class AcceptPause {
 public:
  static constexpr std::chrono::milliseconds kPause{100};

  // If `ec` is a shortage of descriptors or memory: arms `timer` (on the listener's loop) to call `accept_again`
  // after kPause, unless the wait is cancelled (the listener closing), and returns true. False
  // otherwise: the caller accepts again at once.
  template <class Timer, class AcceptAgain>
  bool wait_if_needed(const boost::system::error_code& ec, std::string_view listener, Timer& timer,
                      AcceptAgain accept_again) {
    if (!needed(ec, listener)) return false;
    timer.expires_after(kPause);
    timer.async_wait([accept_again = std::move(accept_again)](const boost::system::error_code& wait_ec) {
      if (!wait_ec) accept_again();
    });
    return true;
  }

 private:
  // True if `ec` is a shortage to pause for; warns in the log at most once a minute, naming
  // the listener.
  bool needed(const boost::system::error_code& ec, std::string_view listener);

  std::chrono::steady_clock::time_point last_warning_{};
  bool warned_ = false;
};

}  // namespace wirebox
