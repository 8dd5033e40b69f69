#include "calling/turn/turn_shard.h"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "calling/turn/channel_data.h"
#include "calling/turn/stun_attributes.h"
#include "calling/turn/stun_message_writer.h"
#include "calling/turn/turn_shard_allocation.h"

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
      scratch_(65536 + 128) {
  auto loops = static_cast<uint64_t>(std::max(1, shared.options.loops));
  uint64_t total = shared.options.max_total_bytes_per_second;
  int64_t now = now_ms();
  to_peers_cap_ = cap(total ? std::max<uint64_t>(1, total / loops) : 0, now);
  to_clients_cap_ = to_peers_cap_;
}

TurnShard::~TurnShard() = default;

void TurnShard::add_udp_listener(boost::asio::ip::udp::socket socket, uint8_t listener_id) {
  listeners_.push_back(std::make_unique<UdpListener>(UdpListener{std::move(socket), listener_id}));
  read_listener(*listeners_.back());
}

void TurnShard::start() { sweep(); }

void TurnShard::stop() {
  stopped_ = true;
  sweep_timer_.cancel();
  for (auto& l : listeners_) l->socket.close();
  while (!allocations_.empty()) release(allocations_.begin());
}

TokenBucket TurnShard::cap(uint64_t bytes_per_second, int64_t now) const {
  if (bytes_per_second == 0) return {};
  return TokenBucket(bytes_per_second, std::max(bytes_per_second, kMinBurstBytes), now);
}

bool TurnShard::within_caps(TokenBucket& allocation, TokenBucket& shard, size_t bytes, int64_t now) {
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

void TurnShard::read_listener(UdpListener& listener) {
  listener.socket.async_wait(boost::asio::ip::udp::socket::wait_read, [this, &listener](boost::system::error_code ec) {
    if (ec || stopped_) return;
    drain_listener(listener);
    read_listener(listener);
  });
}

void TurnShard::drain_listener(UdpListener& listener) {
  int fd = listener.socket.native_handle();
  uint64_t truncated = 0;
  // Bounded rounds so one busy socket cannot starve the loop's other sockets.
  for (int round = 0; round < 8; ++round) {
    size_t n = batch_.receive(fd, truncated);
    for (size_t i = 0; i < n; ++i) {
      ClientAddress from{listener.id, batch_.source(i)};
      auto payload = batch_.payload(i);
      if (looks_like_channel_data(payload)) {
        on_channel_data(payload, from);
      } else {
        UdpClientLink link(fd, from.endpoint);
        on_stun(payload, from, link);
      }
    }
    if (!batch_.maybe_more()) break;
  }
  if (truncated) RelayCounters::add(counters_.dropped_truncated, truncated);
}

void TurnShard::read_relay(std::shared_ptr<Allocation> allocation) {
  Allocation& a = *allocation;
  a.relay_socket.async_wait(boost::asio::ip::udp::socket::wait_read,
                            [this, allocation = std::move(allocation)](boost::system::error_code ec) mutable {
                              if (ec || allocation->closed) return;
                              drain_relay(*allocation);
                              if (!allocation->closed) read_relay(std::move(allocation));
                            });
}

void TurnShard::drain_relay(Allocation& allocation) {
  int fd = allocation.relay_socket.native_handle();
  uint64_t truncated = 0;
  int64_t now = now_ms();
  for (int round = 0; round < 8; ++round) {
    size_t n = batch_.receive(fd, truncated);
    for (size_t i = 0; i < n; ++i) on_data_from_peer(allocation, batch_.payload(i), batch_.source(i), now);
    // Before the receive buffers are reused: the queued ChannelData points into them.
    if (size_t refused = to_clients_.flush()) RelayCounters::add(counters_.dropped_send_failed, refused);
    if (!batch_.maybe_more()) break;
  }
  if (truncated) RelayCounters::add(counters_.dropped_truncated, truncated);
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
  boost::system::error_code ignored;
  a.relay_socket.close(ignored);
  shared_.quota.release(a.user);
  counters_.allocations_active.fetch_sub(1, std::memory_order_relaxed);
  allocations_.erase(it);
}

void TurnShard::sweep() {
  if (stopped_) return;
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
