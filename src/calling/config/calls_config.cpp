#include "calling/config/calls_config.h"

#include "calling/turn/wire_turn_credentials.h"
#include "core/encoding.h"
#include "core/time.h"

namespace wirebox::calling {

namespace {

std::string url_text(const TurnUrl& u) {
  std::string host_port = u.host + ":" + std::to_string(u.port);
  switch (u.kind) {
    case TurnUrl::Kind::kUdp: return "turn:" + host_port;
    case TurnUrl::Kind::kTcp: return "turn:" + host_port + "?transport=tcp";
    case TurnUrl::Kind::kTls: return "turns:" + host_port + "?transport=tcp";
  }
  return {};
}

// UDP, TLS, TCP, UDP, … until `limit` URLs are taken (wire-server `limitServers`).
std::vector<std::string> limited_urls(const std::vector<TurnUrl>& urls, int limit) {
  std::vector<std::string> out;
  if (limit <= 0) {
    for (const auto& u : urls) out.push_back(url_text(u));
    return out;
  }
  std::vector<const TurnUrl*> by_kind[3];
  for (const auto& u : urls) {
    int slot = u.kind == TurnUrl::Kind::kUdp ? 0 : u.kind == TurnUrl::Kind::kTls ? 1 : 2;
    by_kind[slot].push_back(&u);
  }
  size_t taken[3] = {0, 0, 0};
  while (static_cast<int>(out.size()) < limit) {
    bool any = false;
    for (int k = 0; k < 3 && static_cast<int>(out.size()) < limit; ++k) {
      if (taken[k] < by_kind[k].size()) {
        out.push_back(url_text(*by_kind[k][taken[k]++]));
        any = true;
      }
    }
    if (!any) break;
  }
  return out;
}

}  // namespace

nlohmann::json calls_config_body(const CallsConfigOptions& options, const std::string& user_id, int64_t now,
                                 int limit) {
  // r= identifies the user to the relay (per-user quotas) without revealing the id.
  std::string random = hex_encode(sha256(user_id).substr(0, 10));
  std::string username = turn::make_wire_turn_username(now + options.ttl_seconds, options.key_index, random);
  uint16_t https_port = options.https_port ? options.https_port->load() : 0;
  std::vector<TurnUrl> with_https_port;
  if (https_port) {
    with_https_port = options.urls;
    with_https_port.push_back({TurnUrl::Kind::kTls, options.https_port_host, https_port});
  }
  nlohmann::json server = {{"urls", limited_urls(https_port ? with_https_port : options.urls, limit)},
                           {"username", username},
                           {"credential", turn::wire_turn_password(options.secret, username)}};
  return {{"ice_servers", nlohmann::json::array({server})}, {"ttl", options.ttl_seconds}, {"is_federating", false}};
}

void register_routes(http::Router& router, CallsConfigOptions options) {
  auto handler = [options = std::move(options)](http::Request& req) {
    int limit = 0;
    if (auto l = req.query_param("limit")) {
      bool digits = !l->empty() && l->size() <= 2 && l->find_first_not_of("0123456789") == std::string::npos;
      limit = digits ? std::stoi(*l) : -1;
      if (limit < 1 || limit > 10) return http::error_response(ApiError::bad_request("limit must be 1..10"));
    }
    return http::json_response(200, calls_config_body(options, req.identity.user_id, now_seconds(), limit));
  };
  router.add(http::Verb::get, "/calls/config/v2", http::Access::kUser, handler, http::Exec::kInline);
  router.add(http::Verb::get, "/calls/config", http::Access::kUser, handler, http::Exec::kInline);
}

}  // namespace wirebox::calling
