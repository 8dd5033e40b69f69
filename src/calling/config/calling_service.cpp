#include "calling/config/calling_service.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "calling/config/calls_config.h"
#include "calling/turn/stun_message.h"
#include "core/encoding.h"
#include "http/metrics.h"

namespace wirebox::calling {

namespace fs = std::filesystem;

Result<std::vector<std::string>> load_turn_secrets(const std::string& path, bool create) {
  std::error_code ec;
  if (!fs::exists(path, ec) && create) {
    std::string secret = hex_encode(random_bytes(32)) + "\n";
    std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      ::chmod(tmp.c_str(), 0600);
      out << secret;
      if (!out) return ApiError::internal("cannot write " + tmp);
    }
    fs::rename(tmp, path, ec);
    if (ec) return ApiError::internal("cannot create " + path + ": " + ec.message());
  }
  std::ifstream in(path);
  if (!in) return ApiError::internal("cannot read TURN secret file " + path);
  std::vector<std::string> secrets;
  std::string line;
  // Line i is key index i, blank lines included: a retired secret's line is emptied, not
  // deleted, or every later index would shift and the credentials signed with them fail.
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    secrets.push_back(line);
  }
  while (!secrets.empty() && secrets.back().empty()) secrets.pop_back();  // the last line signs
  if (secrets.empty()) return ApiError::internal("TURN secret file " + path + " holds no secret");
  return secrets;
}

namespace {

// "default" → the zero-config listener (port 0 when the HTTPS listener uses port 0, i.e. an
// in-process test daemon, so several can run at once).
std::string resolve_listen(const std::string& value, uint16_t default_port, const Config& c) {
  if (value != "default") return value;
  return "127.0.0.1:" + std::to_string(c.listen_port == 0 ? 0 : default_port);
}

// The relay's counters in /metrics: the totals of every running relay (one in wireboxd; tests
// may run several daemons in one process), summed when scraped so the hot path stays on its
// per-loop counters. Registered once per process.
class RelayMetrics {
 public:
  static RelayMetrics& instance() {
    static RelayMetrics m;
    return m;
  }
  void add(const turn::TurnRelay* relay) {
    std::lock_guard<std::mutex> lock(mu_);
    relays_.push_back(relay);
  }
  void remove(const turn::TurnRelay* relay) {
    std::lock_guard<std::mutex> lock(mu_);
    relays_.erase(std::remove(relays_.begin(), relays_.end(), relay), relays_.end());
  }

 private:
  RelayMetrics() {
    auto& m = http::Metrics::instance();
    using T = turn::RelayTotals;
    auto sum_of = [this](uint64_t T::*field) {
      return [this, field] {
        std::lock_guard<std::mutex> lock(mu_);
        uint64_t total = 0;
        for (const turn::TurnRelay* r : relays_) total += r->totals().*field;
        return total;
      };
    };
    m.counter_fn("wirebox_turn_allocations_created_total", "TURN allocations created",
                 sum_of(&T::allocations_created));
    m.counter_fn("wirebox_turn_auth_failures_total", "TURN requests refused for bad credentials",
                 sum_of(&T::auth_failures));
    m.counter_fn("wirebox_turn_relayed_packets_total{direction=\"to_peers\"}",
                 "Packets relayed (to_peers: from clients out of relay ports; to_clients: back)",
                 sum_of(&T::packets_to_peers));
    m.counter_fn("wirebox_turn_relayed_packets_total{direction=\"to_clients\"}", "", sum_of(&T::packets_to_clients));
    m.counter_fn("wirebox_turn_relayed_bytes_total{direction=\"to_peers\"}",
                 "Payload bytes relayed (to_peers: from clients out of relay ports; to_clients: back)",
                 sum_of(&T::bytes_to_peers));
    m.counter_fn("wirebox_turn_relayed_bytes_total{direction=\"to_clients\"}", "", sum_of(&T::bytes_to_clients));
    m.counter_fn("wirebox_turn_dropped_packets_total{reason=\"malformed\"}",
                 "Packets the relay dropped, by reason: malformed (neither valid STUN nor ChannelData), "
                 "no_allocation (data from a client without one), no_permission (peer without permission or "
                 "channel), forbidden_peer (peer address refused by policy), send_failed (socket buffer full), "
                 "truncated (datagram too large), bandwidth (over turn.max_allocation_kbps or turn.max_total_mbps)",
                 sum_of(&T::dropped_malformed));
    m.counter_fn("wirebox_turn_dropped_packets_total{reason=\"no_allocation\"}", "", sum_of(&T::dropped_no_allocation));
    m.counter_fn("wirebox_turn_dropped_packets_total{reason=\"no_permission\"}", "", sum_of(&T::dropped_no_permission));
    m.counter_fn("wirebox_turn_dropped_packets_total{reason=\"forbidden_peer\"}", "",
                 sum_of(&T::dropped_forbidden_peer));
    m.counter_fn("wirebox_turn_dropped_packets_total{reason=\"send_failed\"}", "", sum_of(&T::dropped_send_failed));
    m.counter_fn("wirebox_turn_dropped_packets_total{reason=\"truncated\"}", "", sum_of(&T::dropped_truncated));
    m.counter_fn("wirebox_turn_dropped_packets_total{reason=\"bandwidth\"}", "", sum_of(&T::dropped_bandwidth));
    m.counter_fn("wirebox_turn_refused_connections_total",
                 "TCP/TLS client connections closed at accept: over turn.max_stream_connections",
                 sum_of(&T::refused_connections));
    m.gauge("wirebox_turn_allocations", "TURN allocations active", [f = sum_of(&T::allocations_active)] {
      return static_cast<double>(f());
    });
  }

  std::mutex mu_;
  std::vector<const turn::TurnRelay*> relays_;
};

}  // namespace

Result<std::unique_ptr<CallingService>> CallingService::start(const Config& c, const http::CertPaths& tls) {
  std::unique_ptr<CallingService> s(new CallingService());
  bool default_secret = c.turn_secret_file.empty();
  std::string secret_path = default_secret ? c.data_dir + "/secrets/turn-secret" : c.turn_secret_file;
  auto secrets = load_turn_secrets(secret_path, default_secret);
  if (!secrets) return secrets.error();
  s->secrets_ = *secrets;
  s->ttl_seconds_ = c.turn_credential_ttl_seconds;

  turn::RelayOptions o;
  o.realm = c.domain;
  o.secrets = s->secrets_;
  o.tls_cert_file = tls.cert_file;
  o.tls_key_file = tls.key_file;
  o.relay_address_v4 = c.turn_relay_address;
  o.relay_address_v6 = c.turn_relay_address_v6;
  o.public_address_v4 = c.turn_relay_public_address;
  o.relay_port_min = c.turn_relay_port_min;
  o.relay_port_max = c.turn_relay_port_max;
  o.allow_loopback_peers = c.turn_allow_loopback_peers;
  o.loops = c.turn_loops > 0 ? c.turn_loops : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.max_allocations = c.turn_max_allocations;
  o.max_allocations_per_user = c.turn_max_allocations_per_user;
  o.max_lifetime_seconds = c.turn_max_lifetime_seconds;
  o.max_allocation_bytes_per_second = static_cast<uint64_t>(c.turn_max_allocation_kbps) * 1000 / 8;
  o.max_total_bytes_per_second = static_cast<uint64_t>(c.turn_max_total_mbps) * 1'000'000 / 8;
  o.udp_receive_buffer_bytes = static_cast<int>(c.turn_udp_receive_buffer_kb * 1024);
  o.stream_allocation_grace_ms = static_cast<uint32_t>(c.turn_stream_allocation_grace_seconds * 1000);
  o.max_stream_connections = c.turn_max_stream_connections;
  o.poll_interval_us = static_cast<uint32_t>(c.turn_poll_interval_us);

  const std::pair<std::string, turn::ClientTransport> wanted[3] = {
      {resolve_listen(c.turn_listen_udp, 3478, c), turn::ClientTransport::kUdp},
      {resolve_listen(c.turn_listen_tcp, 3478, c), turn::ClientTransport::kTcp},
      {resolve_listen(c.turn_listen_tls, 5349, c), turn::ClientTransport::kTls}};
  int slot_of_listener[3] = {-1, -1, -1};
  std::string listen_host;
  for (int k = 0; k < 3; ++k) {
    if (wanted[k].first.empty()) continue;
    turn::ListenerSpec spec;
    spec.transport = wanted[k].second;
    if (!parse_listen(wanted[k].first, spec.address, spec.port))
      return ApiError::bad_request("invalid TURN listen address " + wanted[k].first);
    if (listen_host.empty()) listen_host = spec.address;
    slot_of_listener[o.listeners.size()] = k;
    o.listeners.push_back(spec);
  }
  s->relay_ = std::make_unique<turn::TurnRelay>(o);
  if (auto st = s->relay_->start(); !st) return st.error();
  for (size_t i = 0; i < o.listeners.size(); ++i) s->ports_[slot_of_listener[i]] = s->relay_->bound_port(i);
  RelayMetrics::instance().add(s->relay_.get());

  s->url_host_ = c.turn_public_host;
  if (s->url_host_.empty()) {
    bool wildcard = listen_host == "0.0.0.0" || listen_host == "::";
    s->url_host_ = wildcard ? c.domain : listen_host;
  }
  HttpsPortEndpoint https = https_port_endpoint(c);
  s->https_url_host_ = https.host;
  s->https_public_port_ = https.port;
  return s;
}

HttpsPortEndpoint https_port_endpoint(const Config& c) {
  HttpsPortEndpoint e;
  std::string public_host;
  if (!c.public_url.empty()) {
    // Validated at load: "https://" + authority [+ path].
    std::string authority = c.public_url.substr(8);
    authority = authority.substr(0, authority.find('/'));
    size_t colon = authority.rfind(':');
    bool has_port = colon != std::string::npos && authority.find(']', colon) == std::string::npos;
    public_host = has_port ? authority.substr(0, colon) : authority;
    e.port = 443;
    if (has_port) {
      unsigned long port = std::strtoul(authority.c_str() + colon + 1, nullptr, 10);
      if (port > 0 && port <= 65535) e.port = static_cast<uint16_t>(port);
    }
  }
  if (!c.turn_public_host.empty()) {
    e.host = c.turn_public_host;
  } else if (!public_host.empty()) {
    e.host = public_host;
  } else {
    bool wildcard = c.listen_address == "0.0.0.0" || c.listen_address == "::";
    e.host = wildcard ? c.domain : c.listen_address;
  }
  return e;
}

CallingService::~CallingService() { stop(); }

void CallingService::stop() {
  if (!relay_) return;
  RelayMetrics::instance().remove(relay_.get());
  relay_->stop();
}

void CallingService::register_routes(http::Router& router) const {
  CallsConfigOptions options;
  const TurnUrl::Kind kinds[3] = {TurnUrl::Kind::kUdp, TurnUrl::Kind::kTcp, TurnUrl::Kind::kTls};
  for (int k = 0; k < 3; ++k)
    if (ports_[k]) options.urls.push_back({kinds[k], url_host_, ports_[k]});
  options.https_port_host = https_url_host_;
  options.https_port = https_port_;
  options.key_index = static_cast<int>(secrets_.size()) - 1;
  options.secret = secrets_.back();
  options.ttl_seconds = ttl_seconds_;
  wirebox::calling::register_routes(router, std::move(options));
}

std::shared_ptr<const http::SharedPortProtocol> CallingService::https_port_protocol() {
  auto p = std::make_shared<http::SharedPortProtocol>();
  p->alpn = "stun.turn";  // RFC 7443
  // A TURN client opens with a STUN request: top two bits 0, the magic cookie at bytes 4..7.
  // (ChannelData, 0x40..0x7F, cannot come first — it needs a channel bound — and would be
  // ambiguous with an HTTP method's first letter.) HTTP starts with a letter, so one byte tells.
  p->sniff = [](std::span<const uint8_t> bytes) {
    using Sniff = http::SharedPortProtocol::Sniff;
    if ((bytes[0] & 0xC0) != 0) return Sniff::kNotMine;
    if (bytes.size() < turn::kStunHeaderSize) return Sniff::kNeedMore;
    return turn::StunMessage::looks_like_stun(bytes) ? Sniff::kMine : Sniff::kNotMine;
  };
  p->adopt = [relay = relay_.get()](http::TlsStream&& stream, std::vector<uint8_t>&& already_read,
                                    std::shared_ptr<void> connection_slot) {
    relay->adopt_https_stream(std::move(stream), std::move(already_read), std::move(connection_slot));
  };
  return p;
}

}  // namespace wirebox::calling
