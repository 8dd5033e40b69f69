// TurnShard: STUN request handling and the client→peer data path.
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "calling/turn/channel_data.h"
#include "calling/turn/stun_attributes.h"
#include "calling/turn/stun_message_writer.h"
#include "calling/turn/turn_shard.h"
#include "calling/turn/turn_shard_allocation.h"
#include "calling/turn/wire_turn_credentials.h"
#include "core/encoding.h"
#include "core/time.h"

namespace wirebox::turn {

namespace {

constexpr uint16_t kKnownRequired[] = {
    attr::kUsername,          attr::kMessageIntegrity,   attr::kErrorCode,         attr::kUnknownAttributes,
    attr::kChannelNumber,     attr::kLifetime,           attr::kXorPeerAddress,    attr::kData,
    attr::kRealm,             attr::kNonce,              attr::kXorRelayedAddress, attr::kRequestedAddressFamily,
    attr::kEvenPort,          attr::kRequestedTransport, attr::kDontFragment,      attr::kMessageIntegritySha256,
    attr::kPasswordAlgorithm, attr::kXorMappedAddress,   attr::kPriority,          attr::kUseCandidate,
};

bool known_required(uint16_t type) {
  return std::find(std::begin(kKnownRequired), std::end(kKnownRequired), type) != std::end(kKnownRequired);
}

bool same_family(const Endpoint& a, const Endpoint& b) { return a.address().is_v4() == b.address().is_v4(); }

}  // namespace

struct TurnShard::Auth {
  std::string username;
  std::string user;
  LongTermKey key{};
  IntegrityAlgorithm algorithm = IntegrityAlgorithm::kSha1;
};

void TurnShard::on_client_message(std::span<uint8_t> message, const ClientAddress& from, ClientLink& link) {
  if (looks_like_channel_data(message)) on_channel_data(message, from);
  else on_stun(message, from, link);
}

void TurnShard::on_stun(std::span<const uint8_t> bytes, const ClientAddress& from, ClientLink& link) {
  StunMessage m;
  if (StunMessage::parse(bytes, m) != StunParseStatus::kOk || verify_fingerprint(m) == CheckResult::kInvalid) {
    RelayCounters::add(counters_.dropped_malformed);
    return;
  }
  if (m.message_class() == StunClass::kIndication) {
    if (m.method() == static_cast<uint16_t>(StunMethod::kSend)) on_send_indication(m, from);
    return;
  }
  if (m.message_class() != StunClass::kRequest) return;  // responses are never sent to a server

  uint16_t unknown[StunMessage::kMaxAttributes];
  size_t unknown_count = 0;
  for (const auto& a : m.attributes())
    if (attr::comprehension_required(a.type) && !known_required(a.type)) unknown[unknown_count++] = a.type;
  if (unknown_count) {
    StunMessageWriter w(scratch_, m.method(), StunClass::kErrorResponse, m.transaction_id());
    w.add_error_code(420);
    w.add_unknown_attributes({unknown, unknown_count});
    w.add_fingerprint();
    if (w.ok()) link.send(w.bytes());
    return;
  }

  auto method = static_cast<StunMethod>(m.method());
  if (method == StunMethod::kBinding) {
    send_binding_response(m, from, link);
    return;
  }
  if (method != StunMethod::kAllocate && method != StunMethod::kRefresh &&
      method != StunMethod::kCreatePermission && method != StunMethod::kChannelBind) {
    send_error(m, link, 400, nullptr);
    return;
  }
  Auth auth;
  if (!authenticate(m, from, link, auth)) return;
  switch (method) {
    case StunMethod::kAllocate: handle_allocate(m, from, link, auth); break;
    case StunMethod::kRefresh: handle_refresh(m, from, link, auth); break;
    case StunMethod::kCreatePermission: handle_create_permission(m, from, link, auth); break;
    default: handle_channel_bind(m, from, link, auth); break;
  }
}

bool TurnShard::authenticate(const StunMessage& m, const ClientAddress&, ClientLink& link, Auth& auth) {
  const StunAttribute* username = m.find(attr::kUsername);
  const StunAttribute* realm = m.find(attr::kRealm);
  const StunAttribute* nonce = m.find(attr::kNonce);
  bool has_integrity = m.find(attr::kMessageIntegrity) || m.find(attr::kMessageIntegritySha256);
  if (!has_integrity) {
    send_unauthorized(m, link, 401);  // the normal first round trip: hand out realm and nonce
    return false;
  }
  if (!username || !realm || !nonce) {
    send_error(m, link, 400, nullptr);
    return false;
  }
  auto nonce_validity = shared_.nonces.check(nonce->text(), now_ms());
  if (nonce_validity != NonceIssuer::Validity::kValid) {
    send_unauthorized(m, link, nonce_validity == NonceIssuer::Validity::kStale ? 438 : 401);
    return false;
  }
  auto parsed = parse_wire_turn_username(username->text());
  bool ok = realm->text() == shared_.options.realm && parsed && parsed->expires_at >= now_seconds() &&
            static_cast<size_t>(parsed->key_index) < shared_.options.secrets.size() &&
            !shared_.options.secrets[parsed->key_index].empty();  // a retired key
  if (ok) {
    auth.username = std::string(username->text());
    auth.user = std::string(parsed->random);
    std::string password = wire_turn_password(shared_.options.secrets[parsed->key_index], auth.username);
    auth.key = long_term_key(auth.username, shared_.options.realm, password);
    ok = verify_message_integrity(m, auth.key, &auth.algorithm) == CheckResult::kValid;
  }
  if (!ok) {
    RelayCounters::add(counters_.auth_failures);
    send_unauthorized(m, link, 401);
  }
  return ok;
}

namespace {

void finish(StunMessageWriter& w, const LongTermKey* key, IntegrityAlgorithm algorithm, ClientLink& link) {
  if (key) w.add_message_integrity(*key, algorithm);
  w.add_fingerprint();
  if (w.ok()) link.send(w.bytes());
}

}  // namespace

void TurnShard::send_error(const StunMessage& m, ClientLink& link, int code, const Auth* auth) {
  StunMessageWriter w(scratch_, m.method(), StunClass::kErrorResponse, m.transaction_id());
  w.add_error_code(code);
  finish(w, auth ? &auth->key : nullptr, auth ? auth->algorithm : IntegrityAlgorithm::kSha1, link);
}

void TurnShard::send_unauthorized(const StunMessage& m, ClientLink& link, int code) {
  StunMessageWriter w(scratch_, m.method(), StunClass::kErrorResponse, m.transaction_id());
  w.add_error_code(code);
  w.add_text(attr::kRealm, shared_.options.realm);
  w.add_text(attr::kNonce, shared_.nonces.issue(now_ms()));
  finish(w, nullptr, IntegrityAlgorithm::kSha1, link);
}

void TurnShard::send_binding_response(const StunMessage& m, const ClientAddress& from, ClientLink& link) {
  StunMessageWriter w(scratch_, m.method(), StunClass::kSuccessResponse, m.transaction_id());
  w.add_xor_address(attr::kXorMappedAddress, from.endpoint);
  finish(w, nullptr, IntegrityAlgorithm::kSha1, link);
}

namespace {

uint32_t clamp_lifetime(const StunMessage& m, const RelayOptions& o) {
  const StunAttribute* a = m.find(attr::kLifetime);
  if (!a) return o.default_lifetime_seconds;
  auto v = decode_u32(a->value);
  if (!v) return o.default_lifetime_seconds;
  if (*v == 0) return 0;
  return std::clamp(*v, o.default_lifetime_seconds, o.max_lifetime_seconds);
}

}  // namespace

void TurnShard::handle_allocate(const StunMessage& m, const ClientAddress& from, ClientLink& link, const Auth& auth) {
  int64_t now = now_ms();
  if (auto it = allocations_.find(from); it != allocations_.end()) {
    Allocation& a = *it->second;
    if (a.allocate_transaction != m.transaction_id() || a.username != auth.username) {
      send_error(m, link, 437, &auth);
      return;
    }
    // A retransmitted Allocate: answer it again (RFC 8656 §7.2).
    StunMessageWriter w(scratch_, m.method(), StunClass::kSuccessResponse, m.transaction_id());
    w.add_xor_address(attr::kXorRelayedAddress, a.relayed);
    w.add_u32(attr::kLifetime, static_cast<uint32_t>(std::max<int64_t>(0, (a.state.expires_ms() - now) / 1000)));
    w.add_xor_address(attr::kXorMappedAddress, from.endpoint);
    finish(w, &auth.key, auth.algorithm, link);
    return;
  }
  const StunAttribute* transport = m.find(attr::kRequestedTransport);
  if (!transport || !decode_requested_transport(transport->value)) {
    send_error(m, link, 400, &auth);
    return;
  }
  if (*decode_requested_transport(transport->value) != kTransportUdp) {
    send_error(m, link, 442, &auth);
    return;
  }
  bool ipv6 = false;
  if (const StunAttribute* family = m.find(attr::kRequestedAddressFamily)) {
    auto f = decode_address_family(family->value);
    if (!f || (*f == AddressFamily::kIpv6 && shared_.options.relay_address_v6.empty())) {
      send_error(m, link, 440, &auth);
      return;
    }
    ipv6 = *f == AddressFamily::kIpv6;
  }
  // EVEN-PORT is honoured for the port's parity; its reservation bit is not (no
  // RESERVATION-TOKEN is issued), which RFC 8656 §7.2 permits clients to cope with.
  bool even_port = m.find(attr::kEvenPort) != nullptr;
  uint32_t lifetime = clamp_lifetime(m, shared_.options);
  if (lifetime == 0) lifetime = shared_.options.default_lifetime_seconds;

  switch (shared_.quota.acquire(auth.user)) {
    case AllocationQuota::Outcome::kUserQuotaReached: send_error(m, link, 486, &auth); return;
    case AllocationQuota::Outcome::kServerFull: send_error(m, link, 508, &auth); return;
    case AllocationQuota::Outcome::kGranted: break;
  }
  auto allocation = std::make_shared<Allocation>(from, now + int64_t{lifetime} * 1000);
  Allocation& a = *allocation;
  if (!open_relay_socket(a, ipv6, even_port)) {
    shared_.quota.release(auth.user);
    send_error(m, link, 508, &auth);
    return;
  }
  if (link.transport() == ClientTransport::kUdp) {
    a.udp_link = std::make_unique<UdpClientLink>(static_cast<UdpClientLink&>(link));
    a.link = a.udp_link.get();
  } else {
    a.link = &link;
  }
  a.username = auth.username;
  a.user = auth.user;
  a.key = auth.key;
  a.allocate_transaction = m.transaction_id();
  a.to_peer_cap = cap(shared_.options.max_allocation_bytes_per_second, now);
  a.to_client_cap = a.to_peer_cap;
  allocations_.emplace(from, allocation);
  RelayCounters::add(counters_.allocations_created);
  RelayCounters::add(counters_.allocations_active);

  StunMessageWriter w(scratch_, m.method(), StunClass::kSuccessResponse, m.transaction_id());
  w.add_xor_address(attr::kXorRelayedAddress, a.relayed);
  w.add_u32(attr::kLifetime, lifetime);
  w.add_xor_address(attr::kXorMappedAddress, from.endpoint);
  finish(w, &auth.key, auth.algorithm, link);
}

bool TurnShard::open_relay_socket(Allocation& a, bool ipv6, bool even_port) {
  const RelayOptions& o = shared_.options;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(ipv6 ? o.relay_address_v6 : o.relay_address_v4, ec);
  if (ec) return false;
  boost::asio::ip::udp::socket socket(io_);
  socket.open(ipv6 ? boost::asio::ip::udp::v6() : boost::asio::ip::udp::v4(), ec);
  if (ec) return false;
  socket.non_blocking(true, ec);
  if (ec) return false;
  uint32_t range = uint32_t{o.relay_port_max} - o.relay_port_min + 1;
  // Walk the range from where the last search stopped, so ports are reused as late as possible;
  // past a run of 256 taken ones (long-lived allocations the cursor caught up with), jump to
  // random places: a run must not make the relay answer 508 while most of the range is free.
  uint32_t sequential = std::min<uint32_t>(range, 256);
  std::string jumps;
  for (uint32_t tries = 0; tries < sequential + 256; ++tries) {
    if (tries == sequential) {
      jumps = random_bytes(4 * 256);
      next_port_ = 0;
    }
    if (tries >= sequential) std::memcpy(&next_port_, jumps.data() + 4 * (tries - sequential), 4);
    auto port = static_cast<uint16_t>(o.relay_port_min + (next_port_++ % range));
    if (even_port && port % 2) continue;
    socket.bind(Endpoint(address, port), ec);
    if (ec) continue;
    Endpoint bound = socket.local_endpoint(ec);
    if (ec) return false;
    a.relayed = bound;
    if (!ipv6 && !o.public_address_v4.empty())
      a.relayed = Endpoint(boost::asio::ip::make_address(o.public_address_v4), bound.port());
    // The poller watches it from now on, not Asio's reactor.
    a.relay_fd = socket.release(ec);
    if (ec) return false;
    return poller_.add(a.relay_fd, reinterpret_cast<uint64_t>(&a));
  }
  return false;
}

TurnShard::Allocation* TurnShard::find_for_request(const StunMessage& m, const ClientAddress& from,
                                                    ClientLink& link, const Auth& auth) {
  auto it = allocations_.find(from);
  if (it == allocations_.end()) {
    send_error(m, link, 437, &auth);
    return nullptr;
  }
  if (it->second->username != auth.username) {
    send_error(m, link, 441, &auth);
    return nullptr;
  }
  return it->second.get();
}

void TurnShard::handle_refresh(const StunMessage& m, const ClientAddress& from, ClientLink& link, const Auth& auth) {
  Allocation* a = find_for_request(m, from, link, auth);
  if (!a) return;
  uint32_t lifetime = clamp_lifetime(m, shared_.options);
  if (lifetime == 0) on_link_closed(from);
  else a->state.set_expires_ms(now_ms() + int64_t{lifetime} * 1000);
  StunMessageWriter w(scratch_, m.method(), StunClass::kSuccessResponse, m.transaction_id());
  w.add_u32(attr::kLifetime, lifetime);
  finish(w, &auth.key, auth.algorithm, link);
}

void TurnShard::handle_create_permission(const StunMessage& m, const ClientAddress& from, ClientLink& link,
                                         const Auth& auth) {
  Allocation* a = find_for_request(m, from, link, auth);
  if (!a) return;
  Endpoint peers[StunMessage::kMaxAttributes];
  size_t count = 0;
  for (const auto& attribute : m.attributes()) {
    if (attribute.type != attr::kXorPeerAddress) continue;
    auto peer = decode_xor_address(attribute.value, m.transaction_id());
    if (!peer) return send_error(m, link, 400, &auth);
    if (!same_family(*peer, a->relayed)) return send_error(m, link, 443, &auth);
    if (!shared_.policy.address_allowed(peer->address())) {
      RelayCounters::add(counters_.dropped_forbidden_peer);
      return send_error(m, link, 403, &auth);
    }
    peers[count++] = *peer;
  }
  if (count == 0) return send_error(m, link, 400, &auth);
  int64_t now = now_ms();
  for (size_t i = 0; i < count; ++i)
    if (!a->state.install_permission(peers[i].address(), now)) return send_error(m, link, 508, &auth);
  StunMessageWriter w(scratch_, m.method(), StunClass::kSuccessResponse, m.transaction_id());
  finish(w, &auth.key, auth.algorithm, link);
}

void TurnShard::handle_channel_bind(const StunMessage& m, const ClientAddress& from, ClientLink& link,
                                    const Auth& auth) {
  Allocation* a = find_for_request(m, from, link, auth);
  if (!a) return;
  const StunAttribute* number = m.find(attr::kChannelNumber);
  const StunAttribute* peer_attr = m.find(attr::kXorPeerAddress);
  auto channel = number ? decode_channel_number(number->value) : std::nullopt;
  auto peer = peer_attr ? decode_xor_address(peer_attr->value, m.transaction_id()) : std::nullopt;
  if (!channel || !peer) return send_error(m, link, 400, &auth);
  if (!same_family(*peer, a->relayed)) return send_error(m, link, 443, &auth);
  if (!shared_.policy.endpoint_allowed(*peer)) {
    RelayCounters::add(counters_.dropped_forbidden_peer);
    return send_error(m, link, 403, &auth);
  }
  switch (a->state.bind_channel(*channel, *peer, now_ms())) {
    case ChannelBindResult::kOk: break;
    case ChannelBindResult::kTooMany: return send_error(m, link, 508, &auth);
    default: return send_error(m, link, 400, &auth);
  }
  StunMessageWriter w(scratch_, m.method(), StunClass::kSuccessResponse, m.transaction_id());
  finish(w, &auth.key, auth.algorithm, link);
}

void TurnShard::send_to_peer(Allocation& a, std::span<const uint8_t> data, const Endpoint& peer, int64_t now) {
  if (!within_caps(a.to_peer_cap, to_peers_cap_, data.size(), now)) return;
  ssize_t sent = ::sendto(a.relay_fd, data.data(), data.size(), MSG_DONTWAIT, peer.data(),
                          peer.size());
  if (sent < 0) {
    RelayCounters::add(counters_.dropped_send_failed);
    return;
  }
  RelayCounters::add(counters_.packets_to_peers);
  RelayCounters::add(counters_.bytes_to_peers, data.size());
}

void TurnShard::on_send_indication(const StunMessage& m, const ClientAddress& from) {
  auto it = allocations_.find(from);
  if (it == allocations_.end()) {
    RelayCounters::add(counters_.dropped_no_allocation);
    return;
  }
  const StunAttribute* peer_attr = m.find(attr::kXorPeerAddress);
  const StunAttribute* data = m.find(attr::kData);
  auto peer = peer_attr ? decode_xor_address(peer_attr->value, m.transaction_id()) : std::nullopt;
  if (!peer || !data) {
    RelayCounters::add(counters_.dropped_malformed);
    return;
  }
  if (!shared_.policy.endpoint_allowed(*peer)) {
    RelayCounters::add(counters_.dropped_forbidden_peer);
    return;
  }
  int64_t now = now_ms();
  if (!it->second->state.has_permission(peer->address(), now)) {
    RelayCounters::add(counters_.dropped_no_permission);
    return;
  }
  send_to_peer(*it->second, data->value, *peer, now);
}

void TurnShard::on_channel_data(std::span<const uint8_t> bytes, const ClientAddress& from) {
  ChannelData cd;
  if (parse_channel_data(bytes, cd) != ChannelDataStatus::kOk) {
    RelayCounters::add(counters_.dropped_malformed);
    return;
  }
  auto it = allocations_.find(from);
  if (it == allocations_.end()) {
    RelayCounters::add(counters_.dropped_no_allocation);
    return;
  }
  // The peer was checked against the policy when the channel was bound.
  int64_t now = now_ms();
  const Endpoint* peer = it->second->state.channel_peer(cd.channel, now);
  if (!peer) {
    RelayCounters::add(counters_.dropped_no_permission);
    return;
  }
  send_to_peer(*it->second, cd.data, *peer, now);
}

}  // namespace wirebox::turn
