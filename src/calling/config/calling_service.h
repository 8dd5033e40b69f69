// CallingService: the calling module as the daemon sees it. From the [turn] configuration it
// loads (or, on first start, generates) the TURN secrets, starts the embedded relay on the
// configured listeners, and serves /calls/config(/v2) advertising the listeners it really bound
// (so port 0 in tests and the zero-config defaults both advertise the truth). With
// turn.tls_on_https_port it also serves TURN over TLS on the HTTPS port: the daemon gives the
// server https_port_protocol() and, once it listens, tells advertise_https_port() its port.
//
// Ownership: owns the relay. Thread safety: start/stop from the daemon's controlling thread;
// the routes are safe from every thread.
#pragma once

#include <memory>

#include "calling/turn/turn_relay.h"
#include "core/api_error.h"
#include "core/config.h"
#include "http/router.h"
#include "http/server.h"
#include "http/tls.h"

namespace wirebox::calling {

// Where clients reach the HTTPS port, for its turns: URL: turn.public_host, or else the host of
// server.public_url, or else the listen address (the domain if that is a wildcard); the port of
// server.public_url (443 if it names none), or 0 = the port the server binds.
struct HttpsPortEndpoint {
  std::string host;
  uint16_t port = 0;
};
HttpsPortEndpoint https_port_endpoint(const Config& config);

class CallingService {
 public:
  // Starts the relay; an error names what could not be read or bound.
  static Result<std::unique_ptr<CallingService>> start(const Config& config, const http::CertPaths& tls);
  ~CallingService();

  void register_routes(http::Router& router) const;
  // The TURN side of the shared HTTPS port: ALPN "stun.turn", a STUN request as first bytes.
  std::shared_ptr<const http::SharedPortProtocol> https_port_protocol();
  // Adds the turns: URL for the HTTPS port (bound there) to /calls/config; any thread. The URL
  // names the port of server.public_url instead when that is set (a proxy or NAT in front).
  void advertise_https_port(uint16_t port) { https_port_->store(https_public_port_ ? https_public_port_ : port); }
  void stop();
  // Bound port of the UDP / TCP / TLS listener, 0 if that transport is off.
  uint16_t udp_port() const { return ports_[0]; }
  uint16_t tcp_port() const { return ports_[1]; }
  uint16_t tls_port() const { return ports_[2]; }
  // Relay counters (active allocations etc.) for `wirectl status`; any thread.
  turn::RelayTotals relay_totals() const { return relay_->totals(); }

 private:
  CallingService() = default;

  std::unique_ptr<turn::TurnRelay> relay_;
  std::vector<std::string> secrets_;
  std::string url_host_;
  std::string https_url_host_;
  uint16_t https_public_port_ = 0;  // from server.public_url; 0 = the bound port
  std::shared_ptr<std::atomic<uint16_t>> https_port_ = std::make_shared<std::atomic<uint16_t>>(0);
  uint16_t ports_[3] = {0, 0, 0};
  int64_t ttl_seconds_ = 3600;
};

// Secrets file: one secret per line, line i (from 0) being key index i; an empty line is a
// retired index (credentials naming it are refused), trailing empty lines are ignored and the
// last secret signs new credentials. Creates it (0600, one random 256-bit hex secret) when
// `create` and it does not exist.
Result<std::vector<std::string>> load_turn_secrets(const std::string& path, bool create);

}  // namespace wirebox::calling
