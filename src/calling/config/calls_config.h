// /calls/config/v2 (and the older /calls/config): the ICE servers a Wire client uses for
// calls — this daemon's own TURN relay — with time-limited credentials in Wire's format
// (see calling/turn/wire_turn_credentials.h). The URLs name exactly the listeners the relay is
// bound to, plus TURN over TLS on the HTTPS port when that is shared (its port is known only
// once the HTTP server listens, hence the atomic). `?limit=N` (1..10) keeps N URLs taking UDP,
// TLS, TCP in turn, as wire-server does; the HTTPS-port URL is the last TLS one.
//
// Thread safety: the options are copied at registration; the handler is safe from every thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/router.h"

namespace wirebox::calling {

struct TurnUrl {
  enum class Kind { kUdp, kTcp, kTls };
  Kind kind;
  std::string host;  // IPv4 or DNS name (clients cannot parse IPv6 TURN URLs)
  uint16_t port;
};

struct CallsConfigOptions {
  std::vector<TurnUrl> urls;
  std::string https_port_host;                                // host of the HTTPS-port turns: URL
  std::shared_ptr<const std::atomic<uint16_t>> https_port;  // null or 0: no such URL
  std::string secret;  // the newest secret …
  int key_index = 0;   // … and its index (k= in usernames)
  int64_t ttl_seconds = 3600;
};

// The response body for `user_id` at `now` (unix seconds); `limit` 0 = all URLs.
nlohmann::json calls_config_body(const CallsConfigOptions& options, const std::string& user_id, int64_t now,
                                 int limit);

void register_routes(http::Router& router, CallsConfigOptions options);

}  // namespace wirebox::calling
