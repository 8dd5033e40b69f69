#include "calling/turn/turn_shard.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "calling/turn/channel_data.h"
#include "calling/turn/stun_attributes.h"
#include "calling/turn/stun_message_writer.h"
#include "calling/turn/turn_shard_allocation.h"
#include "core/encoding.h"

namespace wirebox::turn {

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void UdpClientLink::send(std::span<const uint8_t> message) {
  // MSG_DONTWAIT: a full socket buffer drops the datagram, as the network would.
  ::sendto(fd_, message.data(), message.size(), MSG_DONTWAIT, client_.data(), client_.size());
}

size_t TurnShard::ClientAddressHash::operator()(const ClientAddress& a) const {
  const auto* p = reinterpret_cast<const uint8_t*>(a.endpoint.data());
  size_t n = a.endpoint.size();
  // FNV-1a over the sockaddr: cheap, allocation-free, good enough for a per-loop table.
  uint64_t h = 1469598103934665603ull ^ a.listener;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return static_cast<size_t>(h);
}

TurnShard::TurnShard(RelayShared& shared, RelayCounters& counters, boost::asio::io_context& io)
    : shared_(shared),
      counters_(counters),
      io_(io),
      clock_(shared.options.clock_ms ? shared.options.clock_ms : monotonic_ms),
      sweep_timer_(io),
      poller_(io, std::chrono::microseconds(shared.options.poll_interval_us), [this] { on_sockets_ready(); }),
      scratch_(65536 + 128) {
  // Each loop starts its port search somewhere else in the range: all starting at its bottom,
  // they walked the same ports and collided on every bind.
  std::string seed = random_bytes(sizeof next_port_);
  std::memcpy(&next_port_, seed.data(), sizeof next_port_);
  auto loops = static_cast<uint64_t>(std::max(1, shared.options.loops));
  uint64_t total = shared.options.max_total_bytes_per_second;
  int64_t now = now_ms();
  to_peers_cap_ = cap(total ? std::max<uint64_t>(1, total / loops) : 0, now);
  to_clients_cap_ = to_peers_cap_;
}

TurnShard::~TurnShard() = default;

TurnShard::UdpListener::~UdpListener() {
  if (fd >= 0) ::close(fd);
}

TurnShard::Allocation::~Allocation() {
  if (relay_fd >= 0) ::close(relay_fd);
}

bool TurnShard::add_udp_listener(boost::asio::ip::udp::socket socket, uint8_t listener_id) {
  boost::system::error_code ec;
  int fd = socket.release(ec);
  if (ec) return false;
  listeners_.push_back(std::make_unique<UdpListener>(fd, listener_id));
  return poller_.ok() && poller_.add(fd, (static_cast<uint64_t>(listeners_.size() - 1) << 1) | kListenerTag);
}

void TurnShard::start() {
  sweep();
  poller_.start();
}

void TurnShard::stop() {
  stopped_ = true;
  poller_.stop();
  sweep_timer_.cancel();
  for (auto& l : listeners_) {
    poller_.remove(l->fd);
    ::close(l->fd);
    l->fd = -1;
  }
  while (!allocations_.empty()) release(allocations_.begin());
  retired_.clear();
}

TokenBucket TurnShard::cap(uint64_t bytes_per_second, int64_t now) const {
  if (bytes_per_second == 0) return {};
  return TokenBucket(bytes_per_second, std::max(bytes_per_second, kMinBurstBytes), now);
}

bool TurnShard::within_caps(TokenBucket& allocation, TokenBucket& shard, size_t payload_bytes, int64_t now) {
  // Each packet also costs its IPv4 and UDP headers: charged for payload alone, empty packets
  // were free and a client could relay hundreds of thousands a second under any cap.
  constexpr size_t kPacketOverheadBytes = 28;
  const size_t bytes = payload_bytes + kPacketOverheadBytes;
  if (!allocation.try_take(bytes, now)) {
    RelayCounters::add(counters_.dropped_bandwidth);
    return false;
  }
  if (!shard.try_take(bytes, now)) {
    allocation.give_back(bytes);
    RelayCounters::add(counters_.dropped_bandwidth);
    return false;
  }
  return true;
}

void TurnShard::on_sockets_ready() {
  size_t packets = 0;
  int64_t now = now_ms();
  for (const epoll_event& event : poller_.ready()) {
    uint64_t tag = event.data.u64;
    if (tag & kListenerTag) {
      packets += drain_listener(*listeners_[tag >> 1]);
    } else {
      auto* allocation = reinterpret_cast<Allocation*>(tag);
      if (!allocation->closed) packets += drain_relay(*allocation, now);
    }
  }
  flush_to_clients();
  retired_.clear();
  poller_.rearm(packets);
}

size_t TurnShard::drain_listener(UdpListener& listener) {
  uint64_t truncated = 0;
  size_t packets = 0;
  // Bounded rounds so one busy socket cannot starve the loop's other sockets (the poller
  // lists a socket left with data again).
  for (int round = 0; round < 8; ++round) {
    batch_.clear();
    size_t n = batch_.receive(listener.fd, truncated);
    packets += n;
    for (size_t i = 0; i < n; ++i) {
      ClientAddress from{listener.id, batch_.source(i)};
      auto payload = batch_.payload(i);
      if (looks_like_channel_data(payload)) {
        on_channel_data(payload, from);
      } else {
        UdpClientLink link(listener.fd, from.endpoint);
        on_stun(payload, from, link);
      }
    }
    if (!batch_.maybe_more()) break;
  }
  if (truncated) RelayCounters::add(counters_.dropped_truncated, truncated);
  return packets;
}

size_t TurnShard::drain_relay(Allocation& allocation, int64_t now) {
  uint64_t truncated = 0;
  size_t packets = 0;
  for (int round = 0; round < 8; ++round) {
    if (from_peers_.full()) flush_to_clients();
    size_t first = from_peers_.size();
    size_t n = from_peers_.receive(allocation.relay_fd, truncated);
    packets += n;
    for (size_t i = first; i < first + n; ++i)
      on_data_from_peer(allocation, from_peers_.payload(i), from_peers_.source(i), now);
    if (!from_peers_.maybe_more()) break;
  }
  if (truncated) RelayCounters::add(counters_.dropped_truncated, truncated);
  return packets;
}

void TurnShard::flush_to_clients() {
  if (size_t refused = to_clients_.flush()) RelayCounters::add(counters_.dropped_send_failed, refused);
  from_peers_.clear();
}

void TurnShard::on_data_from_peer(Allocation& a, std::span<uint8_t> payload, const Endpoint& peer, int64_t now) {
  if (!a.state.has_permission(peer.address(), now)) {
    RelayCounters::add(counters_.dropped_no_permission);
    return;
  }
  if (!within_caps(a.to_client_cap, to_clients_cap_, payload.size(), now)) return;
  if (uint16_t channel = a.state.channel_for_peer(peer, now)) {
    // The batch leaves headroom before every payload: prepend the 4-byte header in place.
    uint8_t* start = payload.data() - kChannelDataHeaderSize;
    write_channel_data_header(start, channel, static_cast<uint16_t>(payload.size()));
    std::span<const uint8_t> message(start, payload.size() + kChannelDataHeaderSize);
    if (a.udp_link) to_clients_.add(a.udp_link->fd(), a.udp_link->client(), message);
    else a.link->send(message);
  } else {
    // Indications are never answered, so a per-loop sequence is as good as random here.
    TransactionId id{};
    uint64_t sequence = ++indication_sequence_;
    std::memcpy(id.data() + 4, &sequence, sizeof sequence);
    StunMessageWriter w(scratch_, static_cast<uint16_t>(StunMethod::kData), StunClass::kIndication, id);
    w.add_xor_address(attr::kXorPeerAddress, peer);
    w.add_bytes(attr::kData, payload);
    if (!w.ok()) return;
    if (size_t refused = to_clients_.flush()) RelayCounters::add(counters_.dropped_send_failed, refused);
    a.link->send(w.bytes());
  }
  RelayCounters::add(counters_.packets_to_clients);
  RelayCounters::add(counters_.bytes_to_clients, payload.size());
}

void TurnShard::on_link_closed(const ClientAddress& from) {
  auto it = allocations_.find(from);
  if (it != allocations_.end()) release(it);
}

void TurnShard::release(
    std::unordered_map<ClientAddress, std::shared_ptr<Allocation>, ClientAddressHash>::iterator it) {
  Allocation& a = *it->second;
  a.closed = true;
  if (a.relay_fd >= 0) {
    poller_.remove(a.relay_fd);
    ::close(a.relay_fd);
    a.relay_fd = -1;
  }
  shared_.quota.release(a.user);
  counters_.allocations_active.fetch_sub(1, std::memory_order_relaxed);
  retired_.push_back(std::move(it->second));
  allocations_.erase(it);
}

void TurnShard::sweep() {
  if (stopped_) return;
  retired_.clear();  // releases by stream clients between wake-ups
  int64_t now = now_ms();
  for (auto it = allocations_.begin(); it != allocations_.end();) {
    if (it->second->state.expired(now)) {
      auto next = std::next(it);
      release(it);
      it = next;
    } else {
      it->second->state.expire(now);
      ++it;
    }
  }
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) sweep();
  });
}

}  // namespace wirebox::turn
