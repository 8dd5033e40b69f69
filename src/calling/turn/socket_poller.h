// SocketPoller: readiness of one shard's UDP sockets (listeners and relay sockets), kept in an
// epoll set of its own that the shard's Asio loop watches as a single descriptor.
//
// Why not an Asio async_wait per socket: Asio re-arms a socket with one epoll_ctl() per wait
// and wakes the loop for every datagram of every socket; a relay moving tens of thousands of
// small packets per second spent most of its CPU time in those wake-ups (a context switch,
// epoll_wait, epoll_ctl and recvmmsg per packet, measured with perf on bench/turn). Here:
// - the loop wakes once for all the sockets that are ready (one epoll_wait(0) lists them);
// - under load, once wake-ups come closer together than the poll interval, the poller stops
//   watching for readiness and wakes on a timer every interval instead, and each tick drains
//   whatever arrived meanwhile: the wake-up's cost is shared by all those packets, at the price
//   of at most one interval of added latency, and only while the relay is busy (a tick that
//   finds no packet goes back to waiting for readiness, so an idle relay sleeps). Interval 0
//   disables the timer: always wait for readiness.
// While polling on the timer the set is not registered with Asio's reactor at all (else every
// arrival would still wake the loop through it); it is registered again on going back.
//
// The sockets added here must not be registered with Asio (release() them from their Asio
// objects first): Asio's own edge-triggered registration would wake the loop per datagram.
//
// Ownership: owns the epoll descriptor; registered sockets stay the caller's (remove() them
// before closing them). Tags are opaque to the poller.
// Thread safety: none; every call on the owning io_context's thread.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace wirebox::turn {

class SocketPoller {
 public:
  static constexpr size_t kMaxEvents = 64;

  // on_wake runs on each wake-up (readiness or tick); it calls ready(), services the sockets
  // and ends with rearm().
  SocketPoller(boost::asio::io_context& io, std::chrono::microseconds poll_interval, std::function<void()> on_wake);
  ~SocketPoller();
  SocketPoller(const SocketPoller&) = delete;
  SocketPoller& operator=(const SocketPoller&) = delete;

  // False (errno set) if the epoll set could not be created; nothing else works then.
  bool ok() const { return epoll_fd_ >= 0; }
  // Watches fd for readability (level-triggered: a socket left with data is listed again).
  bool add(int fd, uint64_t tag);
  void remove(int fd);

  // Starts waiting for readiness.
  void start();
  // Cancels the wait or tick; on_wake is not called again.
  void stop();

  // The sockets ready now (epoll_wait with timeout 0), at most kMaxEvents; valid until the next call.
  std::span<const epoll_event> ready();
  // Ends a wake-up that moved `packets` datagrams: schedules the next (a tick or a readiness wait).
  void rearm(size_t packets);

  bool polling() const { return polling_; }

 private:
  void wait_for_readiness();
  void schedule_tick(std::chrono::steady_clock::time_point now);
  void woke();

  const std::chrono::microseconds interval_;
  std::function<void()> on_wake_;
  int epoll_fd_ = -1;
  boost::asio::posix::stream_descriptor watched_;  // holds epoll_fd_ while waiting for readiness
  boost::asio::steady_timer tick_;
  std::array<epoll_event, kMaxEvents> events_{};
  std::chrono::steady_clock::time_point last_wake_{};      // this wake-up
  std::chrono::steady_clock::time_point previous_wake_{};  // the one before
  std::chrono::steady_clock::time_point next_tick_{};
  bool polling_ = false;
  bool stopped_ = false;
};

}  // namespace wirebox::turn
