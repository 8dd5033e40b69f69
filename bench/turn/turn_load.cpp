// turn_load: a TURN load generator for bench/turn/run. Opens --allocations UDP allocations on
// a TURN server (long-term credentials --user/--password), binds one channel each to an echo
// peer it runs itself, then sends ChannelData at --rate packets/s in total for --seconds and
// measures what comes back through the relay: loss, p50/p99 round trip, and the server's CPU
// time (from /proc/<--pid>/stat), giving relayed packets per CPU-second (each echoed packet is
// relayed twice: client→peer and peer→client). Prints one line of key=value.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/udp.hpp>

#include "calling/turn/channel_data.h"
#include "calling/turn/stun_attributes.h"
#include "calling/turn/stun_integrity.h"
#include "calling/turn/stun_message.h"
#include "calling/turn/stun_message_writer.h"

using namespace wirebox::turn;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string server = "127.0.0.1";
  uint16_t port = 3478;
  std::string user, password;
  int allocations = 50, rate = 20000, seconds = 5, size = 200, pid = 0;
};

int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

double cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int udp_socket(const Endpoint& bind_to) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  int big = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  ::bind(fd, bind_to.data(), bind_to.size());
  return fd;
}

// Sends a request and waits for the response with the same transaction id, retransmitting as
// a STUN client does over UDP (RFC 8489 §6.2.1: every 500 ms here, 5 times at most).
bool transact(int fd, const Endpoint& server, std::span<const uint8_t> request, std::vector<uint8_t>& response,
              StunMessage& parsed) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    ::sendto(fd, request.data(), request.size(), 0, server.data(), server.size());
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 500) > 0) {
      response.resize(2048);
      ssize_t n = ::recv(fd, response.data(), response.size(), 0);
      if (n <= 0) return false;
      response.resize(static_cast<size_t>(n));
      if (StunMessage::parse(response, parsed) == StunParseStatus::kOk &&
          std::equal(parsed.transaction_id().begin(), parsed.transaction_id().end(), request.begin() + 8))
        return true;
    }
  }
  return false;
}

TransactionId fresh_id(uint32_t n) {
  TransactionId id{};
  std::memcpy(id.data(), &n, sizeof n);
  id[11] = 0x5a;
  return id;
}


// The credentials an allocation was made with, for the requests that follow.
struct Session {
  std::string realm, nonce;
  LongTermKey key{};
};

void authenticate(StunMessageWriter& w, const Args& a, const Session& s) {
  w.add_text(attr::kUsername, a.user);
  w.add_text(attr::kRealm, s.realm);
  w.add_text(attr::kNonce, s.nonce);
  w.add_message_integrity(s.key, IntegrityAlgorithm::kSha1);
}

// Allocate (401 round trip first) and bind channel 0x4000 to peer. Returns false on failure.
bool set_up(int fd, const Endpoint& server, const Args& a, const Endpoint& peer, uint32_t seq, Session& s) {
  uint8_t buf[1024];
  std::vector<uint8_t> resp;
  StunMessage m;
  StunMessageWriter first(buf, static_cast<uint16_t>(StunMethod::kAllocate), StunClass::kRequest, fresh_id(seq * 4));
  first.add_u32(attr::kRequestedTransport, uint32_t{kTransportUdp} << 24);
  if (!transact(fd, server, first.bytes(), resp, m) || !m.find(attr::kRealm) || !m.find(attr::kNonce)) return false;
  s.realm = std::string(m.find(attr::kRealm)->text());
  s.nonce = std::string(m.find(attr::kNonce)->text());
  s.key = long_term_key(a.user, s.realm, a.password);
  StunMessageWriter alloc(buf, static_cast<uint16_t>(StunMethod::kAllocate), StunClass::kRequest, fresh_id(seq * 4 + 1));
  alloc.add_u32(attr::kRequestedTransport, uint32_t{kTransportUdp} << 24);
  authenticate(alloc, a, s);
  if (!transact(fd, server, alloc.bytes(), resp, m) || m.message_class() != StunClass::kSuccessResponse) return false;
  StunMessageWriter bind(buf, static_cast<uint16_t>(StunMethod::kChannelBind), StunClass::kRequest,
                         fresh_id(seq * 4 + 2));
  bind.add_u32(attr::kChannelNumber, uint32_t{0x4000} << 16);
  bind.add_xor_address(attr::kXorPeerAddress, peer);
  authenticate(bind, a, s);
  return transact(fd, server, bind.bytes(), resp, m) && m.message_class() == StunClass::kSuccessResponse;
}

// Refresh with lifetime 0: the allocation ends now, as a client hanging up does. Without it a
// later run could reuse a client port (5-tuple) whose allocation still lives and get 437.
void release(int fd, const Endpoint& server, const Args& a, uint32_t seq, const Session& s) {
  uint8_t buf[1024];
  std::vector<uint8_t> resp;
  StunMessage m;
  StunMessageWriter refresh(buf, static_cast<uint16_t>(StunMethod::kRefresh), StunClass::kRequest,
                            fresh_id(seq * 4 + 3));
  refresh.add_u32(attr::kLifetime, 0);
  authenticate(refresh, a, s);
  transact(fd, server, refresh.bytes(), resp, m);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--server") a.server = v;
    else if (k == "--port") a.port = static_cast<uint16_t>(std::stoi(v));
    else if (k == "--user") a.user = v;
    else if (k == "--password") a.password = v;
    else if (k == "--allocations") a.allocations = std::stoi(v);
    else if (k == "--rate") a.rate = std::stoi(v);
    else if (k == "--seconds") a.seconds = std::stoi(v);
    else if (k == "--size") a.size = std::stoi(v);
    else if (k == "--pid") a.pid = std::stoi(v);
  }
  auto loopback = boost::asio::ip::make_address("127.0.0.1");
  Endpoint server(boost::asio::ip::make_address(a.server), a.port);

  // The echo peer: sends every datagram back where it came from (the relayed address).
  int peer_fd = udp_socket(Endpoint(loopback, 0));
  Endpoint peer;
  socklen_t len = static_cast<socklen_t>(peer.capacity());
  ::getsockname(peer_fd, peer.data(), &len);
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    // Batched both ways (recvmmsg, then one sendmmsg back to each source), so the peer costs
    // the box as little CPU as possible: it shares the cores with the server being measured.
    constexpr size_t kBatch = 64;
    std::vector<uint8_t> bufs(kBatch * 2048);
    std::vector<mmsghdr> msgs(kBatch);
    std::vector<iovec> iovs(kBatch);
    std::vector<sockaddr_storage> froms(kBatch);
    pollfd p{peer_fd, POLLIN, 0};
    while (!stop) {
      if (::poll(&p, 1, 100) <= 0) continue;
      for (;;) {
        for (size_t i = 0; i < kBatch; ++i) {
          iovs[i] = {bufs.data() + i * 2048, 2048};
          msgs[i].msg_hdr = {};
          msgs[i].msg_hdr.msg_name = &froms[i];
          msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
          msgs[i].msg_hdr.msg_iov = &iovs[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = ::recvmmsg(peer_fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) break;
        for (int i = 0; i < n; ++i) iovs[static_cast<size_t>(i)].iov_len = msgs[static_cast<size_t>(i)].msg_len;
        for (int done = 0; done < n;) {
          int sent = ::sendmmsg(peer_fd, msgs.data() + done, static_cast<unsigned>(n - done), 0);
          if (sent <= 0) break;
          done += sent;
        }
        if (n < static_cast<int>(kBatch)) break;
      }
    }
  });

  std::vector<int> fds;
  std::vector<Session> sessions(static_cast<size_t>(a.allocations));
  for (int i = 0; i < a.allocations; ++i) {
    int fd = udp_socket(Endpoint(loopback, 0));
    if (!set_up(fd, server, a, peer, static_cast<uint32_t>(i + 1), sessions[static_cast<size_t>(i)])) {
      std::fprintf(stderr, "turn_load: allocation %d failed\n", i);
      stop = true;
      echo.join();
      return 1;
    }
    fds.push_back(fd);
  }

  const int64_t total = int64_t{a.rate} * a.seconds;
  std::vector<int64_t> rtts;
  rtts.reserve(static_cast<size_t>(total));
  std::atomic<int64_t> received{0};
  std::atomic<bool> sending_done{false};
  std::thread receiver([&] {
    std::vector<pollfd> polls;
    for (int fd : fds) polls.push_back({fd, POLLIN, 0});
    constexpr size_t kBatch = 64;
    std::vector<uint8_t> bufs(kBatch * 2048);
    std::vector<mmsghdr> msgs(kBatch);
    std::vector<iovec> iovs(kBatch);
    int64_t quiet_since = 0;
    while (true) {
      int r = ::poll(polls.data(), polls.size(), 50);
      if (r <= 0) {
        if (sending_done) {
          if (!quiet_since) quiet_since = now_ns();
          if (now_ns() - quiet_since > 500'000'000) break;
        }
        continue;
      }
      quiet_since = 0;
      for (auto& p : polls) {
        if (!(p.revents & POLLIN)) continue;
        for (;;) {
          for (size_t i = 0; i < kBatch; ++i) {
            iovs[i] = {bufs.data() + i * 2048, 2048};
            msgs[i].msg_hdr = {};
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
          }
          int n = ::recvmmsg(p.fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
          if (n <= 0) break;
          int64_t now = now_ns();
          for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
            if (msgs[i].msg_len < 20) continue;
            int64_t sent_at;
            std::memcpy(&sent_at, bufs.data() + i * 2048 + 4 + 8, sizeof sent_at);
            rtts.push_back(now - sent_at);
            received.fetch_add(1, std::memory_order_relaxed);
          }
          if (n < static_cast<int>(kBatch)) break;
        }
      }
    }
  });

  std::vector<uint8_t> packet(kChannelDataHeaderSize + static_cast<size_t>(a.size), 0xAB);
  write_channel_data_header(packet.data(), 0x4000, static_cast<uint16_t>(a.size));
  double cpu_before = a.pid ? cpu_seconds(a.pid) : 0;
  auto start = Clock::now();
  int64_t sent = 0;
  int64_t send_errors = 0;  // the generator's own, reported apart from the relay's loss
  const int64_t interval_ns = 1'000'000'000 / std::max(1, a.rate);
  // Sleep between bursts instead of spinning: on a small box a spinning generator takes a whole
  // core from the servers it measures. Wake at most every ~100 us, sending what is due.
  const int64_t per_wake = std::max<int64_t>(1, 100'000 / interval_ns);
  while (sent < total) {
    // Pace in bursts of up to 64 packets, whenever the schedule is behind.
    int64_t due = (now_ns() - std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count()) /
                  interval_ns;
    if (due <= sent) {
      std::this_thread::sleep_until(start + std::chrono::nanoseconds((sent + per_wake) * interval_ns));
      continue;
    }
    // Every packet counted as sent is sent: a generator that slept late catches up (in bursts
    // of at most 64 between clock reads) instead of skipping packets it would count as lost.
    int64_t burst = std::min<int64_t>(64, std::min(due, total) - sent);
    for (int64_t k = 0; k < burst; ++k) {
      int64_t seq = sent + k;
      int64_t t = now_ns();
      std::memcpy(packet.data() + 4, &seq, sizeof seq);
      std::memcpy(packet.data() + 12, &t, sizeof t);
      int fd = fds[static_cast<size_t>(seq) % fds.size()];
      if (::sendto(fd, packet.data(), packet.size(), 0, server.data(), server.size()) < 0) ++send_errors;
    }
    sent += burst;
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  sending_done = true;
  receiver.join();
  double cpu = a.pid ? cpu_seconds(a.pid) - cpu_before : 0;
  stop = true;
  echo.join();
  for (size_t i = 0; i < fds.size(); ++i) release(fds[i], server, a, static_cast<uint32_t>(i + 1), sessions[i]);

  std::sort(rtts.begin(), rtts.end());
  auto pct = [&](double q) {
    return rtts.empty() ? 0.0 : static_cast<double>(rtts[static_cast<size_t>(q * (rtts.size() - 1))]) / 1e6;
  };
  int64_t got = received.load();
  double relayed = 2.0 * static_cast<double>(got);
  std::printf("sent=%lld received=%lld loss_pct=%.3f offered_pps=%.0f p50_ms=%.3f p99_ms=%.3f server_cpu_s=%.3f "
              "relayed_pps_per_core=%.0f send_errors=%lld\n",
              static_cast<long long>(sent), static_cast<long long>(got),
              100.0 * static_cast<double>(sent - got) / static_cast<double>(std::max<int64_t>(1, sent)),
              static_cast<double>(sent) / elapsed, pct(0.5), pct(0.99), cpu, cpu > 0 ? relayed / cpu : 0.0,
              static_cast<long long>(send_errors));
  return 0;
}
