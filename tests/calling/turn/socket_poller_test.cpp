// SocketPoller on a real io_context with loopback sockets: readiness wake-ups name the ready
// sockets by tag; under load (wake-ups closer than the interval) it switches to timer ticks,
// during which arrivals do not wake the loop, and a tick that finds nothing switches back.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "calling/turn/socket_poller.h"
#include "loopback_udp.h"

using namespace wirebox::turn;
using namespace std::chrono_literals;

namespace {

using Udp = test::LoopbackUdp;

}  // namespace

TEST_CASE("readiness wakes the loop once for all ready sockets, named by tag", "[turn][poller]") {
  boost::asio::io_context io;
  Udp a, b, sender;
  std::vector<uint64_t> tags;
  int wakes = 0;
  SocketPoller* self = nullptr;
  SocketPoller poller(io, 0us, [&] {
    ++wakes;
    size_t packets = 0;
    for (const epoll_event& e : self->ready()) {
      tags.push_back(e.data.u64);
      packets += (e.data.u64 == 7 ? a : b).drain();
    }
    if (packets == 3) io.stop();
    self->rearm(packets);
  });
  self = &poller;
  REQUIRE(poller.ok());
  REQUIRE(poller.add(a.fd, 7));
  REQUIRE(poller.add(b.fd, 9));
  sender.send(a);
  sender.send(a);
  sender.send(b);
  poller.start();
  io.run_for(2s);
  CHECK(wakes == 1);
  std::sort(tags.begin(), tags.end());
  CHECK(tags == std::vector<uint64_t>{7, 9});
  CHECK_FALSE(poller.polling());  // interval 0: never on a timer
}

TEST_CASE("under load the poller ticks on a timer, then goes back to readiness when idle", "[turn][poller]") {
  boost::asio::io_context io;
  Udp a, sender;
  std::vector<bool> polling_at_wake;  // the mode each wake-up came from
  size_t received = 0;
  SocketPoller* self = nullptr;
  SocketPoller poller(io, 100ms, [&] {
    polling_at_wake.push_back(self->polling());
    size_t packets = 0;
    for (const epoll_event& e : self->ready())
      if (e.data.u64 == 1) packets += a.drain();
    received += packets;
    self->rearm(packets);
    if (polling_at_wake.size() == 2) {
      // Two wake-ups in a row, well within 100 ms: now on the timer. Datagrams sent meanwhile
      // must not wake the loop before the tick: all four arrive in the tick's one wake-up.
      CHECK(self->polling());
      for (int i = 0; i < 4; ++i) sender.send(a);
    }
    if (polling_at_wake.size() == 3) CHECK(received == 6);
    if (polling_at_wake.size() == 4) {
      // The tick after that found nothing: back to waiting for readiness.
      CHECK_FALSE(self->polling());
      io.stop();
    }
  });
  self = &poller;
  REQUIRE(poller.add(a.fd, 1));
  poller.start();
  sender.send(a);
  // The first wake drains it; a second datagram right after makes the next wake-up come sooner
  // than the interval.
  io.run_one_for(2s);
  sender.send(a);
  io.run_for(2s);
  REQUIRE(polling_at_wake.size() == 4);
  CHECK(polling_at_wake == std::vector<bool>{false, false, true, true});
}

TEST_CASE("stop cancels a pending wait and tick: no wake-up after it", "[turn][poller]") {
  boost::asio::io_context io;
  Udp a, sender;
  int wakes = 0;
  SocketPoller poller(io, 200us, [&] { ++wakes; });
  REQUIRE(poller.add(a.fd, 1));
  poller.start();
  poller.stop();
  sender.send(a);
  io.run_for(50ms);
  CHECK(wakes == 0);
}
