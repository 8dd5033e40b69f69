#include "calling/turn/socket_poller.h"

#include <unistd.h>

#include <algorithm>

namespace wirebox::turn {

using Clock = std::chrono::steady_clock;

SocketPoller::SocketPoller(boost::asio::io_context& io, std::chrono::microseconds poll_interval,
                           std::function<void()> on_wake)
    : interval_(std::max(poll_interval, std::chrono::microseconds(0))),
      on_wake_(std::move(on_wake)),
      epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      watched_(io),
      tick_(io) {}

SocketPoller::~SocketPoller() {
  if (watched_.is_open()) watched_.release();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

bool SocketPoller::add(int fd, uint64_t tag) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = tag;
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) == 0;
}

void SocketPoller::remove(int fd) { ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void SocketPoller::start() {
  last_wake_ = Clock::now() - std::chrono::hours(1);  // the first wake-up alone never means load
  wait_for_readiness();
}

void SocketPoller::stop() {
  stopped_ = true;
  tick_.cancel();
  if (watched_.is_open()) watched_.release();  // cancels a pending wait
}

std::span<const epoll_event> SocketPoller::ready() {
  int n = ::epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), 0);
  return {events_.data(), static_cast<size_t>(std::max(n, 0))};
}

void SocketPoller::rearm(size_t packets) {
  if (stopped_) return;
  auto now = Clock::now();
  if (interval_.count() == 0) {
    wait_for_readiness();
  } else if (polling_) {
    if (packets > 0) {
      schedule_tick(now);
    } else {
      polling_ = false;
      wait_for_readiness();
    }
  } else if (packets > 0 && last_wake_ - previous_wake_ < interval_) {
    // Woken again sooner than a tick would have: ticks are now the cheaper way to wake.
    polling_ = true;
    watched_.release();  // out of Asio's reactor: arrivals must not wake the loop
    next_tick_ = now;
    schedule_tick(now);
  } else {
    wait_for_readiness();
  }
}

void SocketPoller::wait_for_readiness() {
  boost::system::error_code ec;
  if (!watched_.is_open()) watched_.assign(epoll_fd_, ec);
  watched_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code error) {
    if (error || stopped_) return;
    woke();
  });
}

void SocketPoller::schedule_tick(Clock::time_point now) {
  // Keep the cadence; a tick that ran late is followed at once (the relay is saturated).
  next_tick_ = std::max(next_tick_ + interval_, now);
  tick_.expires_at(next_tick_);
  tick_.async_wait([this](boost::system::error_code error) {
    if (error || stopped_) return;
    woke();
  });
}

void SocketPoller::woke() {
  auto now = Clock::now();
  previous_wake_ = last_wake_;
  last_wake_ = now;
  on_wake_();
}

}  // namespace wirebox::turn
