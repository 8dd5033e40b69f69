// DatagramBatch on real loopback sockets: receives append across sockets until clear(), the
// headroom before each payload is writable, full() stops receiving, truncation is counted.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "calling/turn/datagram_batch.h"
#include "loopback_udp.h"

using namespace wirebox::turn;

namespace {

using Udp = test::LoopbackUdp;

std::string text(std::span<uint8_t> p) { return std::string(p.begin(), p.end()); }

}  // namespace

TEST_CASE("receives append across sockets until clear", "[turn][batch]") {
  Udp a, b, sender;
  sender.send(a, "a1");
  sender.send(a, "a2");
  sender.send(b, "b1");
  DatagramBatch batch;
  uint64_t truncated = 0;
  REQUIRE(batch.receive(a.fd, truncated) == 2);
  CHECK_FALSE(batch.maybe_more());
  REQUIRE(batch.receive(b.fd, truncated) == 1);
  REQUIRE(batch.size() == 3);
  CHECK(text(batch.payload(0)) == "a1");
  CHECK(text(batch.payload(1)) == "a2");
  CHECK(text(batch.payload(2)) == "b1");
  CHECK(batch.source(2) == sender.local);
  CHECK(batch.receive(b.fd, truncated) == 0);  // nothing waiting
  CHECK(batch.size() == 3);

  // The headroom before a payload is free for a header, without touching its neighbours.
  auto p = batch.payload(1);
  std::memset(p.data() - DatagramBatch::kHeadroom, 0xEE, DatagramBatch::kHeadroom);
  CHECK(text(batch.payload(0)) == "a1");
  CHECK(text(batch.payload(1)) == "a2");

  batch.clear();
  CHECK(batch.size() == 0);
  sender.send(a, "a3");
  REQUIRE(batch.receive(a.fd, truncated) == 1);
  CHECK(text(batch.payload(0)) == "a3");
  CHECK(truncated == 0);
}

TEST_CASE("a full batch receives nothing more and says the socket may hold more", "[turn][batch]") {
  Udp a, sender;
  for (size_t i = 0; i < DatagramBatch::kBatch + 5; ++i) sender.send(a, "m" + std::to_string(i));
  DatagramBatch batch;
  uint64_t truncated = 0;
  sender.send(a, "");  // placeholder so the first receive is not the whole queue
  REQUIRE(batch.receive(a.fd, truncated) == DatagramBatch::kBatch);
  CHECK(batch.full());
  CHECK(batch.maybe_more());
  CHECK(batch.receive(a.fd, truncated) == 0);
  CHECK(text(batch.payload(DatagramBatch::kBatch - 1)) == "m" + std::to_string(DatagramBatch::kBatch - 1));
  batch.clear();
  CHECK(batch.receive(a.fd, truncated) == 6);  // the 5 left and the placeholder
  CHECK(text(batch.payload(0)) == "m" + std::to_string(DatagramBatch::kBatch));
  CHECK_FALSE(batch.maybe_more());
}

TEST_CASE("a datagram larger than a slot is counted and skipped", "[turn][batch]") {
  Udp a, sender;
  sender.send(a, std::string(DatagramBatch::kMaxDatagram + 1, 'x'));
  sender.send(a, "ok");
  DatagramBatch batch;
  uint64_t truncated = 0;
  REQUIRE(batch.receive(a.fd, truncated) == 1);
  CHECK(truncated == 1);
  REQUIRE(batch.size() == 1);
  CHECK(text(batch.payload(0)) == "ok");
}
