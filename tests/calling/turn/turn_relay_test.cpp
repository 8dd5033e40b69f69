// The relay end to end on loopback, in process: the long-term credential round trip, Wire
// credentials (wrong secret, expiry), peer policy, channels and ChannelData through an echo
// peer, Refresh to 0, bandwidth caps (under a controlled clock). Bounded waits only (poll with a
// timeout).
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "calling/turn/channel_data.h"
#include "calling/turn/stun_attributes.h"
#include "calling/turn/stun_integrity.h"
#include "calling/turn/stun_message.h"
#include "calling/turn/stun_message_writer.h"
#include "calling/turn/turn_relay.h"
#include "calling/turn/wire_turn_credentials.h"
#include "core/time.h"
#include "turn_test_session.h"

using namespace wirebox;
using namespace wirebox::turn;

namespace {

const Endpoint kLoopback(boost::asio::ip::make_address("127.0.0.1"), 0);

struct Socket {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  Socket() { ::bind(fd, kLoopback.data(), kLoopback.size()); }
  ~Socket() { ::close(fd); }
  Endpoint local() const {
    Endpoint e;
    socklen_t len = static_cast<socklen_t>(e.capacity());
    ::getsockname(fd, e.data(), &len);
    return e;
  }
  void send_to(const Endpoint& to, std::span<const uint8_t> data) const {
    ::sendto(fd, data.data(), data.size(), 0, to.data(), to.size());
  }
  // One datagram within 2 s, or empty.
  std::vector<uint8_t> receive(Endpoint* from = nullptr) const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) return {};
    std::vector<uint8_t> buf(2048);
    Endpoint src;
    socklen_t len = static_cast<socklen_t>(src.capacity());
    ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0, src.data(), &len);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    if (from) *from = src;
    return buf;
  }
};

struct Client : test::TurnTestSession {
  Socket socket;
  Endpoint server;

  auto exchange() {
    return [this](std::span<const uint8_t> bytes) {
      socket.send_to(server, bytes);
      return socket.receive();
    };
  }
  // The answer's error code (0 for success, -1 for no answer).
  template <class Fill>
  int request(StunMethod method, Fill fill) {
    return TurnTestSession::request(method, fill, exchange());
  }
  int allocate() { return TurnTestSession::allocate(exchange()); }
};

struct Relay {
  TurnRelay relay;
  explicit Relay(bool allow_loopback) : Relay(options(allow_loopback)) {}
  explicit Relay(RelayOptions o) : relay(std::move(o)) { REQUIRE(relay.start().ok()); }
  static RelayOptions options(bool allow_loopback) {
    RelayOptions o;
    o.realm = "test.realm";
    o.secrets = {"old-secret", "secret"};
    o.listeners = {{ClientTransport::kUdp, "127.0.0.1", 0}};
    o.allow_loopback_peers = allow_loopback;
    o.relay_port_min = 40000 + static_cast<uint16_t>(::getpid() % 2000) * 10;
    o.relay_port_max = o.relay_port_min + 9;
    return o;
  }
  // One TCP listener instead of UDP; loopback peers allowed.
  static RelayOptions tcp_options() {
    RelayOptions o = options(true);
    o.listeners = {{ClientTransport::kTcp, "127.0.0.1", 0}};
    return o;
  }
  Endpoint endpoint() const { return Endpoint(kLoopback.address(), relay.bound_port(0)); }
};

void use_credentials(test::TurnTestSession& c, const std::string& secret, int key, int64_t expires_at) {
  c.username = make_wire_turn_username(expires_at, key, "tester");
  c.password = wire_turn_password(secret, c.username);
}

// Allocates for c on r with valid credentials; the relayed address.
std::optional<Endpoint> allocate_on(const Relay& r, Client& c) {
  c.server = r.endpoint();
  use_credentials(c, "secret", 1, now_seconds() + 60);
  REQUIRE(c.allocate() == 0);
  auto relayed = decode_xor_address(c.response.find(attr::kXorRelayedAddress)->value, c.response.transaction_id());
  REQUIRE(relayed);
  return relayed;
}

}  // namespace

TEST_CASE("Binding works without credentials", "[turn][relay]") {
  Relay r(false);
  Client c;
  c.server = r.endpoint();
  REQUIRE(c.request(StunMethod::kBinding, [](StunMessageWriter&) {}) == 0);
  auto mapped = decode_xor_address(c.response.find(attr::kXorMappedAddress)->value, c.response.transaction_id());
  CHECK(*mapped == c.socket.local());
}

TEST_CASE("Allocate needs valid, unexpired Wire credentials", "[turn][relay]") {
  Relay r(false);
  Client good, wrong, expired, old_key;
  for (Client* c : {&good, &wrong, &expired, &old_key}) c->server = r.endpoint();
  use_credentials(good, "secret", 1, now_seconds() + 60);
  use_credentials(wrong, "not-the-secret", 1, now_seconds() + 60);
  use_credentials(expired, "secret", 1, now_seconds() - 1);
  use_credentials(old_key, "old-secret", 0, now_seconds() + 60);  // rotation: index 0 still valid
  CHECK(good.allocate() == 0);
  CHECK(verify_message_integrity(good.response, long_term_key(good.username, "test.realm", good.password)) ==
        CheckResult::kValid);
  CHECK(old_key.allocate() == 0);
  CHECK(wrong.allocate() == 401);
  CHECK(expired.allocate() == 401);
  CHECK(good.allocate() == 437);  // a second Allocate on the same 5-tuple
  CHECK(r.relay.totals().allocations_active == 2);
}

TEST_CASE("a retired (empty) key index is refused; the indices after it still work", "[turn][relay]") {
  RelayOptions o = Relay::options(false);
  o.secrets = {"old-secret", "", "secret"};
  Relay r(o);
  Client retired, before, after;
  for (Client* c : {&retired, &before, &after}) c->server = r.endpoint();
  use_credentials(retired, "", 1, now_seconds() + 60);
  use_credentials(before, "old-secret", 0, now_seconds() + 60);
  use_credentials(after, "secret", 2, now_seconds() + 60);
  CHECK(retired.allocate() == 401);
  CHECK(before.allocate() == 0);
  CHECK(after.allocate() == 0);
}

TEST_CASE("loopback peers are refused unless allowed", "[turn][relay]") {
  Relay r(false);
  Client c;
  c.server = r.endpoint();
  use_credentials(c, "secret", 1, now_seconds() + 60);
  REQUIRE(c.allocate() == 0);
  auto permit = [&](const char* address) {
    return c.request(StunMethod::kCreatePermission, [&](StunMessageWriter& w) {
      w.add_xor_address(attr::kXorPeerAddress, Endpoint(boost::asio::ip::make_address(address), 9));
    });
  };
  CHECK(permit("127.0.0.2") == 403);
  CHECK(permit("169.254.0.1") == 403);
  // 127.0.0.1 is the relay's own address: a permission is fine (relay-to-relay calls), but only
  // relay ports can be reached, not other services on the host.
  CHECK(permit("127.0.0.1") == 0);
  CHECK(c.request(StunMethod::kChannelBind, [&](StunMessageWriter& w) {
    w.add_u32(attr::kChannelNumber, uint32_t{0x4000} << 16);
    w.add_xor_address(attr::kXorPeerAddress, Endpoint(kLoopback.address(), 22));
  }) == 403);
}

TEST_CASE("ChannelData round trip through an echo peer, then Refresh 0 ends it", "[turn][relay]") {
  Relay r(true);
  Client c;
  auto relayed = allocate_on(r, c);
  Socket peer;
  auto bind = [&](uint16_t channel) {
    return c.request(StunMethod::kChannelBind, [&](StunMessageWriter& w) {
      w.add_u32(attr::kChannelNumber, uint32_t{channel} << 16);
      w.add_xor_address(attr::kXorPeerAddress, peer.local());
    });
  };
  CHECK(bind(0x3000) == 400);
  REQUIRE(bind(0x4001) == 0);
  CHECK(bind(0x4002) == 400);  // same peer, other number

  uint8_t message[4 + 5];
  write_channel_data_header(message, 0x4001, 5);
  std::memcpy(message + 4, "hello", 5);
  c.socket.send_to(c.server, message);
  Endpoint from;
  auto at_peer = peer.receive(&from);
  REQUIRE(std::string(at_peer.begin(), at_peer.end()) == "hello");
  CHECK(from == *relayed);
  peer.send_to(from, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("world"), 5));
  auto back = c.socket.receive();
  ChannelData cd;
  REQUIRE(parse_channel_data(back, cd) == ChannelDataStatus::kOk);
  CHECK(cd.channel == 0x4001);
  CHECK(std::string(cd.data.begin(), cd.data.end()) == "world");

  REQUIRE(c.request(StunMethod::kRefresh, [](StunMessageWriter& w) { w.add_u32(attr::kLifetime, 0); }) == 0);
  CHECK(c.request(StunMethod::kRefresh, [](StunMessageWriter& w) { w.add_u32(attr::kLifetime, 600); }) == 437);
  CHECK(r.relay.totals().allocations_active == 0);
}

TEST_CASE("malformed datagrams are dropped and counted", "[turn][relay]") {
  Relay r(false);
  Socket s;
  uint8_t junk[] = {0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xa4, 0x42};
  s.send_to(r.endpoint(), junk);
  Client c;  // a later valid request is still answered
  c.server = r.endpoint();
  REQUIRE(c.request(StunMethod::kBinding, [](StunMessageWriter&) {}) == 0);
  CHECK(r.relay.totals().dropped_malformed == 1);
  CHECK(r.relay.totals().dropped == 1);
}

namespace {

// The relay's clock in the bandwidth tests: it stands still unless a test moves it, so the
// token buckets refill only when told and packet counts are exact.
std::atomic<int64_t> test_clock_ms{0};
int64_t test_clock() { return test_clock_ms.load(); }

// A packet's payload such that, with the 28 bytes of headers the caps charge, it costs 1000.
constexpr size_t kPayload = 1000 - 28;

RelayOptions capped_options(uint64_t allocation_bytes_per_second, uint64_t total_bytes_per_second, int loops) {
  RelayOptions o = Relay::options(true);
  o.clock_ms = test_clock;
  o.max_allocation_bytes_per_second = allocation_bytes_per_second;
  o.max_total_bytes_per_second = total_bytes_per_second;
  o.loops = loops;
  return o;
}

// A client with an allocation and channel 0x4001 bound to its own peer socket.
struct CallLeg {
  Client client;
  Socket peer;
  Endpoint relayed;

  explicit CallLeg(const Relay& r) {
    client.server = r.endpoint();
    use_credentials(client, "secret", 1, now_seconds() + 60);
    REQUIRE(client.allocate() == 0);
    relayed = *decode_xor_address(client.response.find(attr::kXorRelayedAddress)->value,
                                  client.response.transaction_id());
    REQUIRE(client.request(StunMethod::kChannelBind, [&](StunMessageWriter& w) {
      w.add_u32(attr::kChannelNumber, uint32_t{0x4001} << 16);
      w.add_xor_address(attr::kXorPeerAddress, peer.local());
    }) == 0);
  }

  // `count` ChannelData messages of `size` bytes towards the peer, 16 at a time, each group
  // followed by a Binding round trip: the relay handles a client's datagrams in order, so the
  // answer means the group was relayed or dropped (and no socket buffer can overflow).
  void send_to_peer(int count, size_t size) {
    std::vector<uint8_t> message(4 + size, 0x55);
    write_channel_data_header(message.data(), 0x4001, static_cast<uint16_t>(size));
    for (int sent = 0; sent < count;) {
      for (int k = 0; k < 16 && sent < count; ++k, ++sent) client.socket.send_to(client.server, message);
      REQUIRE(client.request(StunMethod::kBinding, [](StunMessageWriter&) {}) == 0);
    }
  }
};

struct Counts {
  uint64_t to_peers, to_clients, dropped_bandwidth;
  static Counts of(const Relay& r) {
    RelayTotals t = r.relay.totals();
    return {t.packets_to_peers, t.packets_to_clients, t.dropped_bandwidth};
  }
};

}  // namespace

TEST_CASE("an allocation over its bandwidth cap gets the cap through; others are unaffected",
          "[turn][relay][bandwidth]") {
  test_clock_ms = 1'000'000'000;
  // 100 kB/s per allocation and direction: the burst is one second's worth, 100 packets of 1000 bytes
  // (kPayload plus the 28 bytes of IP and UDP headers each packet is charged).
  Relay r(capped_options(100'000, 0, 1));
  CallLeg a(r), b(r);

  Counts before = Counts::of(r);
  a.send_to_peer(150, kPayload);
  Counts after = Counts::of(r);
  CHECK(after.to_peers - before.to_peers == 100);
  CHECK(after.dropped_bandwidth - before.dropped_bandwidth == 50);

  test_clock_ms += 500;  // refills 50 000 bytes
  before = after;
  a.send_to_peer(100, kPayload);
  after = Counts::of(r);
  CHECK(after.to_peers - before.to_peers == 50);
  CHECK(after.dropped_bandwidth - before.dropped_bandwidth == 50);

  before = after;
  b.send_to_peer(100, kPayload);  // b has its own bucket, still full
  after = Counts::of(r);
  CHECK(after.to_peers - before.to_peers == 100);
  CHECK(after.dropped_bandwidth == before.dropped_bandwidth);

  // The other direction has its own bucket, full although a's towards the peer is empty.
  before = after;
  std::vector<uint8_t> media(kPayload, 0x66);
  uint64_t received = 0;
  for (int sent = 0; sent < 150;) {
    for (int k = 0; k < 16 && sent < 150; ++k, ++sent) a.peer.send_to(a.relayed, media);
    // Wait (bounded) until the relay accounted for the group, draining a's client socket.
    for (int polls = 0; polls < 200; ++polls) {
      Counts now = Counts::of(r);
      if ((now.to_clients - before.to_clients) + (now.dropped_bandwidth - before.dropped_bandwidth) ==
          static_cast<uint64_t>(sent))
        break;
      pollfd p{a.client.socket.fd, POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        uint8_t buf[2048];
        if (::recv(a.client.socket.fd, buf, sizeof buf, 0) > 0) ++received;
      }
    }
  }
  after = Counts::of(r);
  CHECK(after.to_clients - before.to_clients == 100);
  CHECK(after.dropped_bandwidth - before.dropped_bandwidth == 50);
  CHECK(received <= 100);

  // Empty packets are not free: 28 bytes each, so a second's worth is 3571 of them.
  test_clock_ms += 10'000;
  before = Counts::of(r);
  b.send_to_peer(4000, 0);
  after = Counts::of(r);
  CHECK(after.to_peers - before.to_peers == 100'000 / 28);
  CHECK(after.dropped_bandwidth - before.dropped_bandwidth == 4000 - 100'000 / 28);
}

TEST_CASE("the relay-wide bandwidth cap holds across allocations and is split over the loops",
          "[turn][relay][bandwidth]") {
  test_clock_ms = 1'000'000'000;
  SECTION("one loop holds the whole cap") {
    Relay r(capped_options(0, 100'000, 1));
    CallLeg a(r), b(r);
    Counts before = Counts::of(r);
    a.send_to_peer(100, kPayload);  // within the burst: all pass
    b.send_to_peer(100, kPayload);  // the relay's bucket is empty now, although b's is unlimited
    Counts after = Counts::of(r);
    CHECK(after.to_peers - before.to_peers == 100);
    CHECK(after.dropped_bandwidth - before.dropped_bandwidth == 100);
    test_clock_ms += 1000;
    before = after;
    b.send_to_peer(100, kPayload);
    after = Counts::of(r);
    CHECK(after.to_peers - before.to_peers == 100);
    CHECK(after.dropped_bandwidth == before.dropped_bandwidth);
  }
  SECTION("two loops hold half each") {
    Relay r(capped_options(0, 200'000, 2));
    CallLeg a(r);  // on one loop, whose share is 100 kB/s
    Counts before = Counts::of(r);
    a.send_to_peer(150, kPayload);
    Counts after = Counts::of(r);
    CHECK(after.to_peers - before.to_peers == 100);
    CHECK(after.dropped_bandwidth - before.dropped_bandwidth == 50);
  }
}

TEST_CASE("bursts over several allocations all arrive, in order, whether the loop polls on a timer or not",
          "[turn][relay]") {
  auto interval = GENERATE(0u, 200u);
  RelayOptions o = Relay::options(true);
  o.poll_interval_us = interval;
  Relay r(o);
  // 400 datagrams each way: many full batches, yet 100 per relay socket fit its default receive
  // buffer even when the loop is slow (300 overflowed it under a parallel ctest).
  constexpr int kClients = 4, kPackets = 100;
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<Endpoint> relayed;
  Socket peer;
  int big = 4 << 20;
  ::setsockopt(peer.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  for (int i = 0; i < kClients; ++i) {
    auto c = std::make_unique<Client>();
    ::setsockopt(c->socket.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    c->server = r.endpoint();
    use_credentials(*c, "secret", 1, now_seconds() + 60);
    REQUIRE(c->allocate() == 0);
    auto a = decode_xor_address(c->response.find(attr::kXorRelayedAddress)->value, c->response.transaction_id());
    REQUIRE(a);
    relayed.push_back(*a);
    REQUIRE(c->request(StunMethod::kChannelBind, [&](StunMessageWriter& w) {
      w.add_u32(attr::kChannelNumber, uint32_t{0x4000} << 16);
      w.add_xor_address(attr::kXorPeerAddress, peer.local());
    }) == 0);
    clients.push_back(std::move(c));
  }
  auto numbered = [](int client, int n) {
    std::vector<uint8_t> m(4 + 8);
    write_channel_data_header(m.data(), 0x4000, 8);
    std::memcpy(m.data() + 4, &client, 4);
    std::memcpy(m.data() + 8, &n, 4);
    return m;
  };
  for (int n = 0; n < kPackets; ++n)
    for (int i = 0; i < kClients; ++i) clients[static_cast<size_t>(i)]->socket.send_to(r.endpoint(), numbered(i, n));

  // At the peer: every datagram, from its client's relayed address, in order per client.
  std::vector<int> next(kClients, 0);
  for (int got = 0; got < kClients * kPackets; ++got) {
    Endpoint from;
    auto d = peer.receive(&from);
    REQUIRE(d.size() == 8);
    int client, n;
    std::memcpy(&client, d.data(), 4);
    std::memcpy(&n, d.data() + 4, 4);
    REQUIRE((client >= 0 && client < kClients));
    CHECK(from == relayed[static_cast<size_t>(client)]);
    REQUIRE(n == next[static_cast<size_t>(client)]++);
  }
  // And back: the peer answers each relayed address in turn; each client gets its own, in order.
  for (int n = 0; n < kPackets; ++n)
    for (int i = 0; i < kClients; ++i) {
      auto m = numbered(i, n);
      peer.send_to(relayed[static_cast<size_t>(i)], std::span<const uint8_t>(m).subspan(4));
    }
  for (int i = 0; i < kClients; ++i) {
    for (int n = 0; n < kPackets; ++n) {
      auto d = clients[static_cast<size_t>(i)]->socket.receive();
      ChannelData cd;
      REQUIRE(parse_channel_data(d, cd) == ChannelDataStatus::kOk);
      REQUIRE(cd.data.size() == 8);
      int client, number;
      std::memcpy(&client, cd.data.data(), 4);
      std::memcpy(&number, cd.data.data() + 4, 4);
      CHECK(client == i);
      REQUIRE(number == n);
    }
  }
  CHECK(r.relay.totals().packets_to_clients == uint64_t{kClients} * kPackets);
}

namespace {

// A TCP client of the relay: sends whole messages, reads one STUN message, sees the close.
struct TcpClient {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  explicit TcpClient(const Endpoint& server) { REQUIRE(::connect(fd, server.data(), server.size()) == 0); }
  ~TcpClient() { ::close(fd); }
  // True once the server closed the connection (read returns 0) within `ms`.
  bool closed_within(int ms) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    char buf[2048];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
    return false;
  }
};

}  // namespace

namespace {

// One STUN request over a TCP client and its answer (empty if none within 2 s).
auto tcp_exchange(const TcpClient& client) {
  return [&client](std::span<const uint8_t> bytes) {
    REQUIRE(::send(client.fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    pollfd p{client.fd, POLLIN, 0};
    std::vector<uint8_t> in(2048);
    ssize_t n = ::poll(&p, 1, 2000) == 1 ? ::recv(client.fd, in.data(), in.size(), 0) : -1;
    in.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return in;
  };
}

int tcp_binding(const TcpClient& client) {
  test::TurnTestSession session;
  return session.request(StunMethod::kBinding, [](StunMessageWriter&) {}, tcp_exchange(client));
}

}  // namespace

TEST_CASE("a TCP client without an allocation is closed after the grace period; one with an allocation is not",
          "[turn][relay]") {
  RelayOptions o = Relay::tcp_options();
  o.stream_allocation_grace_ms = 300;
  Relay r(o);
  Endpoint server = r.endpoint();

  TcpClient idle(server);
  CHECK(idle.closed_within(3000));

  // An allocated client over TCP stays past several checks, and is closed once it releases it.
  TcpClient allocated(server);
  test::TurnTestSession session;
  use_credentials(session, "secret", 1, now_seconds() + 60);
  auto exchange = tcp_exchange(allocated);
  CHECK(session.allocate(exchange) == 0);
  CHECK_FALSE(allocated.closed_within(1000));  // three checks passed
  CHECK(session.request(StunMethod::kRefresh, [](StunMessageWriter& w) { w.add_u32(attr::kLifetime, 0); },
                        exchange) == 0);
  CHECK(allocated.closed_within(3000));
}

TEST_CASE("a wildcard relay address is refused at start-up", "[turn]") {
  for (const char* wildcard : {"0.0.0.0", "::"}) {
    INFO(wildcard);
    RelayOptions o = Relay::options(false);
    (std::string(wildcard) == "::" ? o.relay_address_v6 : o.public_address_v4) = wildcard;
    TurnRelay relay(std::move(o));
    auto started = relay.start();
    REQUIRE_FALSE(started.ok());
    CHECK_THAT(started.error().message, Catch::Contains("not a wildcard"));
  }
}

TEST_CASE("TCP connections beyond max_stream_connections are closed at accept; a closed one frees its place",
          "[turn][relay]") {
  RelayOptions o = Relay::tcp_options();
  o.max_stream_connections = 2;
  Relay r(o);
  auto first = std::make_unique<TcpClient>(r.endpoint());
  TcpClient second(r.endpoint());
  REQUIRE(tcp_binding(*first) == 0);
  REQUIRE(tcp_binding(second) == 0);
  TcpClient third(r.endpoint());
  CHECK(third.closed_within(3000));
  CHECK(r.relay.totals().refused_connections == 1);
  CHECK(tcp_binding(second) == 0);  // the others are untouched

  // Once the server has seen the first one go, a new connection gets its place (bounded: 3 s).
  first.reset();
  bool served = false;
  for (int attempt = 0; attempt < 60 && !served; ++attempt) {
    TcpClient next(r.endpoint());
    served = !next.closed_within(50) && tcp_binding(next) == 0;
  }
  CHECK(served);
}

TEST_CASE("a TCP client's frames larger than its first read buffer are relayed whole", "[turn][relay]") {
  RelayOptions o = Relay::tcp_options();
  Relay r(o);
  Endpoint server = r.endpoint();
  TcpClient client(server);
  test::TurnTestSession session;
  use_credentials(session, "secret", 1, now_seconds() + 60);
  auto exchange = tcp_exchange(client);
  REQUIRE(session.allocate(exchange) == 0);
  Socket peer;
  REQUIRE(session.request(StunMethod::kChannelBind,
                          [&](StunMessageWriter& w) {
                            w.add_u32(attr::kChannelNumber, uint32_t{0x4001} << 16);
                            w.add_xor_address(attr::kXorPeerAddress, peer.local());
                          },
                          exchange) == 0);
  // 4 KiB, then 16 KiB, then 60000 bytes: each larger than the buffer before it.
  for (size_t size : {size_t{100}, size_t{4090}, size_t{16000}, size_t{60000}}) {
    INFO(size);
    std::vector<uint8_t> frame(4 + ((size + 3) & ~size_t{3}), 0);
    write_channel_data_header(frame.data(), 0x4001, static_cast<uint16_t>(size));
    for (size_t i = 0; i < size; ++i) frame[4 + i] = static_cast<uint8_t>(i * 7 + size);
    REQUIRE(::send(client.fd, frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size()));
    pollfd p{peer.fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 2000) == 1);
    std::vector<uint8_t> got(65536);
    ssize_t n = ::recv(peer.fd, got.data(), got.size(), 0);
    REQUIRE(n == static_cast<ssize_t>(size));
    CHECK(std::equal(got.begin(), got.begin() + n, frame.begin() + 4));
  }
}

TEST_CASE("an Allocate finds a free relay port past a long run of taken ones", "[turn][relay]") {
  RelayOptions o = Relay::options(true);
  // 300 ports below the ephemeral range (nothing else binds there), the first 280 taken.
  o.relay_port_min = static_cast<uint16_t>(10000 + (::getpid() % 50) * 300);
  o.relay_port_max = static_cast<uint16_t>(o.relay_port_min + 299);
  std::vector<std::unique_ptr<Socket>> taken;
  for (uint16_t port = o.relay_port_min; port < o.relay_port_min + 280; ++port) {
    auto s = std::make_unique<Socket>();
    ::close(s->fd);
    s->fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    Endpoint at(kLoopback.address(), port);
    REQUIRE(::bind(s->fd, at.data(), at.size()) == 0);
    taken.push_back(std::move(s));
  }
  Relay r(o);
  // Whichever port the search starts at, every Allocate gets one of the 20 free ports (it used
  // to give up with 508 after 256 taken ones in a row).
  for (int i = 0; i < 10; ++i) {
    Client c;
    CHECK(allocate_on(r, c)->port() >= o.relay_port_min + 280);
  }
}
