#include "core/config.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Util/IniFileConfiguration.h>
#include <Poco/Util/LayeredConfiguration.h>
#include <Poco/Util/MapConfiguration.h>

#include <set>

namespace wirebox {

const std::vector<std::pair<std::string, std::string>>& config_keys() {
  static const std::vector<std::pair<std::string, std::string>> keys = {
      {"server.domain", "Backend domain (dotted DNS name) users and assets are qualified with"},
      {"server.data_dir", "Directory holding all state: database, TLS material, secrets"},
      {"server.log_level", "debug | info | warning | error"},
      {"server.public_url", "https:// URL clients reach the box at; empty = https://<domain>[:<listen port>]"},
      {"server.title", "Name the official clients show for this backend; empty = the domain"},
      {"server.web_root", "Directory of the box's web pages (GET / and /web/{file}); empty = none"},
      {"http.listen", "Public HTTPS listener, ADDR:PORT"},
      {"http.cert", "PEM certificate chain; empty = self-signed under <data_dir>/tls"},
      {"http.key", "PEM private key for http.cert"},
      {"http.loops", "I/O event loops (threads); 0 = one per core"},
      {"http.workers", "Threads for blocking work (database commits)"},
      {"http.max_body_bytes", "Largest accepted request body, after gzip decompression"},
      {"http.max_connections", "Open client connections beyond which new ones are refused"},
      {"http.idle_timeout_seconds", "Keep-alive connections idle this long are closed"},
      {"http.cors_origins", "Comma-separated web origins allowed with credentials; * = any"},
      {"metrics.listen", "Prometheus /metrics listener (plain HTTP), ADDR:PORT; empty = off"},
      {"auth.registration", "open = anyone may POST /register; closed = only wirectl creates users"},
      {"auth.access_token_ttl_seconds", "Lifetime of access tokens"},
      {"auth.persistent_cookie_ttl_seconds", "Lifetime of zuid cookies from persist=true logins"},
      {"auth.session_cookie_ttl_seconds", "Lifetime of zuid cookies from persist=false logins"},
      {"auth.cookie_renew_age_seconds", "Cookies older than this are rotated on POST /access"},
      {"auth.login_attempts_per_minute", "Login attempts allowed per account and per client address"},
      {"auth.registrations_per_minute", "Registrations allowed per client address (IPv6: per /64)"},
      {"auth.password_scrypt_log2_n", "scrypt cost for new password hashes (N = 2^value)"},
      {"clients.max_permanent", "Permanent clients (devices) a user may have"},
      {"teams.invitation_ttl_seconds", "Lifetime of a team invitation code"},
      {"conversations.max_group_size", "Members a group conversation may have, its creator included"},
      {"notifications.retention_days", "Days a notification stays in the per-user queue"},
      {"notifications.max_per_user", "Notifications kept per user queue; the oldest beyond it are deleted"},
      {"notifications.max_store_mb", "Largest size of the notification store (LMDB map) in MiB"},
      {"websocket.max_queued_frames", "Notifications queued per WebSocket before a slow consumer is disconnected"},
      {"websocket.idle_timeout_seconds", "A WebSocket that sends nothing (not even a pong) this long is closed"},
      {"websocket.max_sockets_per_user", "Open WebSockets per user; one more closes the user's oldest"},
      {"assets.max_upload_mb", "Largest asset a personal user may upload, MiB"},
      {"assets.team_max_upload_mb", "Largest asset a team member may upload, MiB"},
      {"assets.volatile_retention_days", "Days a volatile asset is kept"},
      {"assets.expiring_retention_days", "Days an expiring asset is kept"},
      {"assets.uploads_per_minute", "Asset uploads allowed per user per minute"},
      {"assets.max_uploads_in_flight", "Asset uploads running at once, all users together; beyond: 503"},
      {"assets.max_user_uploads_in_flight", "Asset uploads one user may run at once; beyond: 429"},
      {"assets.upload_mb_per_hour", "Asset bytes a user may upload per hour, MiB"},
      {"assets.sweep_interval_seconds", "Pause between passes of the expired-asset sweeper"},
      {"turn.enabled", "Run the embedded TURN relay and serve /calls/config (true | false)"},
      {"turn.listen_udp", "TURN over UDP, ADDR:PORT; default = 127.0.0.1:3478; empty = off"},
      {"turn.listen_tcp", "TURN over TCP, ADDR:PORT; default = 127.0.0.1:3478; empty = off"},
      {"turn.listen_tls", "TURN over TLS (turns:), ADDR:PORT; default = 127.0.0.1:5349; empty = off"},
      {"turn.tls_on_https_port", "Also accept TURN over TLS on the HTTPS port (ALPN stun.turn or a STUN "
                                 "first message) and advertise it (true | false)"},
      {"turn.public_host", "Host name or IP put in advertised turn:/turns: URLs; empty = the listen address"},
      {"turn.relay_address", "IPv4 address relay sockets are bound to"},
      {"turn.relay_address_v6", "IPv6 address for IPv6 relayed addresses; empty = IPv4 only"},
      {"turn.relay_public_address", "IPv4 address announced as relayed address (1:1 NAT); empty = relay_address"},
      {"turn.relay_ports", "Relay port range MIN-MAX"},
      {"turn.secret_file", "Shared secrets, one per line (line i = key index i, the last is used for new "
                           "credentials); empty = <data_dir>/secrets/turn-secret, generated if absent"},
      {"turn.allow_loopback_peers", "Allow relaying to loopback peers (tests on one host only)"},
      {"turn.loops", "TURN event loops (threads); 0 = one per core"},
      {"turn.max_allocations", "Allocations the relay holds at most"},
      {"turn.max_allocations_per_user", "Allocations one user (credential r= value) may hold"},
      {"turn.max_lifetime_seconds", "Longest allocation lifetime a client may request"},
      {"turn.max_allocation_kbps", "Bandwidth cap per allocation and direction, kbit/s; 0 = unlimited"},
      {"turn.max_total_mbps", "Bandwidth cap of the whole relay per direction, Mbit/s; 0 = unlimited"},
      {"turn.udp_receive_buffer_kb", "Receive buffer of each UDP listener socket, KiB (capped by net.core.rmem_max); 0 = system default"},
      {"turn.stream_allocation_grace_seconds", "TCP/TLS TURN connections without an allocation are closed after this; 0 = never"},
      {"turn.max_stream_connections", "TCP/TLS client connections open at once on TURN's own listeners"},
      {"turn.poll_interval_us", "Under load, poll relay sockets every this many microseconds; 0 = never"},
      {"turn.credential_ttl_seconds", "Lifetime of credentials from /calls/config (also its ttl field)"},
      {"admin.socket", "Unix socket wirectl talks to (mode 0660); empty = <data_dir>/admin.sock"},
  };
  return keys;
}

std::string admin_socket_path(const Config& c) {
  return c.admin_socket.empty() ? c.data_dir + "/admin.sock" : c.admin_socket;
}

std::vector<std::pair<std::string, std::string>> config_values(const Config& c) {
  auto b = [](bool v) { return std::string(v ? "true" : "false"); };
  auto n = [](auto v) { return std::to_string(v); };
  std::string origins;
  for (const auto& o : c.cors_origins) origins += (origins.empty() ? "" : ",") + o;
  return {
      {"server.domain", c.domain},
      {"server.data_dir", c.data_dir},
      {"server.log_level", c.log_level},
      {"server.public_url", c.public_url},
      {"server.title", c.title},
      {"server.web_root", c.web_root},
      {"http.listen", (c.listen_address.find(':') != std::string::npos ? "[" + c.listen_address + "]"
                                                                       : c.listen_address) +
                          ":" + n(c.listen_port)},
      {"http.cert", c.cert_file},
      {"http.key", c.key_file},
      {"http.loops", n(c.loops)},
      {"http.workers", n(c.workers)},
      {"http.max_body_bytes", n(c.max_body_bytes)},
      {"http.max_connections", n(c.max_connections)},
      {"http.idle_timeout_seconds", n(c.idle_timeout_seconds)},
      {"http.cors_origins", origins},
      {"metrics.listen", c.metrics_listen},
      {"auth.registration", c.registration},
      {"auth.access_token_ttl_seconds", n(c.access_token_ttl_seconds)},
      {"auth.persistent_cookie_ttl_seconds", n(c.persistent_cookie_ttl_seconds)},
      {"auth.session_cookie_ttl_seconds", n(c.session_cookie_ttl_seconds)},
      {"auth.cookie_renew_age_seconds", n(c.cookie_renew_age_seconds)},
      {"auth.login_attempts_per_minute", n(c.login_attempts_per_minute)},
      {"auth.registrations_per_minute", n(c.registrations_per_minute)},
      {"auth.password_scrypt_log2_n", n(c.password_scrypt_log2_n)},
      {"clients.max_permanent", n(c.max_permanent_clients)},
      {"teams.invitation_ttl_seconds", n(c.teams_invitation_ttl_seconds)},
      {"conversations.max_group_size", n(c.conversations_max_group_size)},
      {"notifications.retention_days", n(c.notifications_retention_days)},
      {"notifications.max_per_user", n(c.notifications_max_per_user)},
      {"notifications.max_store_mb", n(c.notifications_max_store_mb)},
      {"websocket.max_queued_frames", n(c.websocket_max_queued_frames)},
      {"websocket.idle_timeout_seconds", n(c.websocket_idle_timeout_seconds)},
      {"websocket.max_sockets_per_user", n(c.websocket_max_sockets_per_user)},
      {"assets.max_upload_mb", n(c.assets_max_upload_mb)},
      {"assets.team_max_upload_mb", n(c.assets_team_max_upload_mb)},
      {"assets.volatile_retention_days", n(c.assets_volatile_retention_days)},
      {"assets.expiring_retention_days", n(c.assets_expiring_retention_days)},
      {"assets.uploads_per_minute", n(c.assets_uploads_per_minute)},
      {"assets.max_uploads_in_flight", n(c.assets_max_uploads_in_flight)},
      {"assets.max_user_uploads_in_flight", n(c.assets_max_user_uploads_in_flight)},
      {"assets.upload_mb_per_hour", n(c.assets_upload_mb_per_hour)},
      {"assets.sweep_interval_seconds", n(c.assets_sweep_interval_seconds)},
      {"turn.enabled", b(c.turn_enabled)},
      {"turn.listen_udp", c.turn_listen_udp},
      {"turn.listen_tcp", c.turn_listen_tcp},
      {"turn.listen_tls", c.turn_listen_tls},
      {"turn.tls_on_https_port", b(c.turn_tls_on_https_port)},
      {"turn.public_host", c.turn_public_host},
      {"turn.relay_address", c.turn_relay_address},
      {"turn.relay_address_v6", c.turn_relay_address_v6},
      {"turn.relay_public_address", c.turn_relay_public_address},
      {"turn.relay_ports", n(c.turn_relay_port_min) + "-" + n(c.turn_relay_port_max)},
      {"turn.secret_file", c.turn_secret_file},
      {"turn.allow_loopback_peers", b(c.turn_allow_loopback_peers)},
      {"turn.loops", n(c.turn_loops)},
      {"turn.max_allocations", n(c.turn_max_allocations)},
      {"turn.max_allocations_per_user", n(c.turn_max_allocations_per_user)},
      {"turn.max_lifetime_seconds", n(c.turn_max_lifetime_seconds)},
      {"turn.max_allocation_kbps", n(c.turn_max_allocation_kbps)},
      {"turn.max_total_mbps", n(c.turn_max_total_mbps)},
      {"turn.udp_receive_buffer_kb", n(c.turn_udp_receive_buffer_kb)},
      {"turn.stream_allocation_grace_seconds", n(c.turn_stream_allocation_grace_seconds)},
      {"turn.max_stream_connections", n(c.turn_max_stream_connections)},
      {"turn.poll_interval_us", n(c.turn_poll_interval_us)},
      {"turn.credential_ttl_seconds", n(c.turn_credential_ttl_seconds)},
      {"admin.socket", c.admin_socket},
  };
}

bool parse_listen(const std::string& s, std::string& address, uint16_t& port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 >= s.size()) return false;
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of("[]:") != std::string::npos) {
    // An IPv6 address must be bracketed: "::1" used to parse as host ":" port 1 and only
    // failed later, at listen time, with a confusing address.
    return false;
  }
  if (host.empty()) return false;
  // Digits only: std::stoi also took " 80" and "+80".
  std::string digits = s.substr(colon + 1);
  if (digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  int p = std::stoi(digits);
  if (p > 65535) return false;
  port = static_cast<uint16_t>(p);
  address = host;
  return true;
}

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string item = s.substr(i, j - i);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    i = j + 1;
  }
  return out;
}

bool parse_port_range(const std::string& s, uint16_t& min, uint16_t& max) {
  size_t dash = s.find('-');
  if (dash == std::string::npos) return false;
  std::string a = s.substr(0, dash), b = s.substr(dash + 1);
  auto digits = [](const std::string& d) {
    return !d.empty() && d.size() <= 5 && d.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(a) || !digits(b)) return false;
  int lo = std::stoi(a), hi = std::stoi(b);
  if (lo < 1024 || lo > hi || hi > 65535) return false;
  min = static_cast<uint16_t>(lo);
  max = static_cast<uint16_t>(hi);
  return true;
}

void collect_keys(const Poco::Util::AbstractConfiguration& c, const std::string& prefix, std::set<std::string>& out) {
  Poco::Util::AbstractConfiguration::Keys keys;
  c.keys(prefix, keys);
  if (keys.empty() && !prefix.empty()) out.insert(prefix);
  for (const auto& k : keys) collect_keys(c, prefix.empty() ? k : prefix + "." + k, out);
}

}  // namespace

Result<Config> load_config(const std::optional<std::string>& file,
                           const std::map<std::string, std::string>& overrides) {
  Poco::AutoPtr<Poco::Util::LayeredConfiguration> layered(new Poco::Util::LayeredConfiguration);
  std::set<std::string> known;
  for (const auto& [k, _] : config_keys()) known.insert(k);
  try {
    if (file) {
      Poco::AutoPtr<Poco::Util::IniFileConfiguration> ini(new Poco::Util::IniFileConfiguration(*file));
      std::set<std::string> present;
      collect_keys(*ini, "", present);
      for (const auto& k : present)
        if (!known.count(k)) return ApiError::bad_request("unknown configuration key '" + k + "' in " + *file);
      layered->add(ini, 100);
    }
  } catch (const Poco::Exception& e) {
    return ApiError::bad_request("cannot read config file " + *file + ": " + e.displayText());
  }
  Poco::AutoPtr<Poco::Util::MapConfiguration> over(new Poco::Util::MapConfiguration);
  for (const auto& [k, v] : overrides) {
    if (!known.count(k)) return ApiError::bad_request("unknown configuration key '" + k + "'");
    over->setString(k, v);
  }
  layered->add(over, 0);

  Config c;
  std::string current;
  try {
    auto str = [&](const char* key, std::string& field) {
      current = key;
      field = layered->getString(key, field);
    };
    auto integer = [&](const char* key, auto& field, int64_t min, int64_t max) -> Status {
      current = key;
      int64_t v = layered->getInt64(key, static_cast<int64_t>(field));
      if (v < min || v > max)
        return ApiError::bad_request(std::string(key) + " must be between " + std::to_string(min) + " and " +
                                     std::to_string(max));
      field = static_cast<std::remove_reference_t<decltype(field)>>(v);
      return {};
    };
    str("server.domain", c.domain);
    str("server.data_dir", c.data_dir);
    str("server.log_level", c.log_level);
    str("server.public_url", c.public_url);
    str("server.title", c.title);
    str("server.web_root", c.web_root);
    std::string listen = c.listen_address + ":" + std::to_string(c.listen_port);
    str("http.listen", listen);
    if (!parse_listen(listen, c.listen_address, c.listen_port))
      return ApiError::bad_request("http.listen must be ADDR:PORT, got '" + listen + "'");
    str("http.cert", c.cert_file);
    str("http.key", c.key_file);
    if (c.cert_file.empty() != c.key_file.empty())
      return ApiError::bad_request("http.cert and http.key must be given together");
    std::vector<Status> checks = {
        integer("http.loops", c.loops, 0, 256),
        integer("http.workers", c.workers, 1, 256),
        integer("http.max_body_bytes", c.max_body_bytes, 1024, int64_t{1} << 32),
        integer("http.max_connections", c.max_connections, 1, 10000000),
        integer("http.idle_timeout_seconds", c.idle_timeout_seconds, 1, 86400),
        integer("auth.access_token_ttl_seconds", c.access_token_ttl_seconds, 10, 86400),
        integer("auth.persistent_cookie_ttl_seconds", c.persistent_cookie_ttl_seconds, 60, int64_t{1} << 31),
        integer("auth.session_cookie_ttl_seconds", c.session_cookie_ttl_seconds, 60, int64_t{1} << 31),
        integer("auth.cookie_renew_age_seconds", c.cookie_renew_age_seconds, 0, int64_t{1} << 31),
        integer("auth.login_attempts_per_minute", c.login_attempts_per_minute, 1, 1000000),
        integer("auth.registrations_per_minute", c.registrations_per_minute, 1, 1000000),
        integer("auth.password_scrypt_log2_n", c.password_scrypt_log2_n, 10, 20),
        integer("clients.max_permanent", c.max_permanent_clients, 1, 64),
        integer("teams.invitation_ttl_seconds", c.teams_invitation_ttl_seconds, 60, int64_t{1} << 31),
        integer("conversations.max_group_size", c.conversations_max_group_size, 2, 100000),
        integer("notifications.retention_days", c.notifications_retention_days, 1, 3650),
        integer("notifications.max_per_user", c.notifications_max_per_user, 100, int64_t{1} << 32),
        integer("notifications.max_store_mb", c.notifications_max_store_mb, 16, int64_t{1} << 24),
        integer("websocket.max_queued_frames", c.websocket_max_queued_frames, 16, 1000000),
        integer("websocket.idle_timeout_seconds", c.websocket_idle_timeout_seconds, 10, 86400),
        integer("websocket.max_sockets_per_user", c.websocket_max_sockets_per_user, 1, 100000),
        integer("assets.max_upload_mb", c.assets_max_upload_mb, 1, 1 << 20),
        integer("assets.team_max_upload_mb", c.assets_team_max_upload_mb, 1, 1 << 20),
        integer("assets.volatile_retention_days", c.assets_volatile_retention_days, 1, 3650),
        integer("assets.expiring_retention_days", c.assets_expiring_retention_days, 1, 3650),
        integer("assets.uploads_per_minute", c.assets_uploads_per_minute, 1, 1000000),
        integer("assets.max_uploads_in_flight", c.assets_max_uploads_in_flight, 1, 1000000),
        integer("assets.max_user_uploads_in_flight", c.assets_max_user_uploads_in_flight, 1, 1000000),
        integer("assets.upload_mb_per_hour", c.assets_upload_mb_per_hour, 1, int64_t{1} << 30),
        integer("assets.sweep_interval_seconds", c.assets_sweep_interval_seconds, 1, 86400),
        integer("turn.loops", c.turn_loops, 0, 256),
        integer("turn.max_allocations", c.turn_max_allocations, 1, 1000000),
        integer("turn.max_allocations_per_user", c.turn_max_allocations_per_user, 1, 10000),
        integer("turn.max_lifetime_seconds", c.turn_max_lifetime_seconds, 600, 86400),
        integer("turn.max_allocation_kbps", c.turn_max_allocation_kbps, 0, 100'000'000),
        integer("turn.max_total_mbps", c.turn_max_total_mbps, 0, 100'000),
        integer("turn.udp_receive_buffer_kb", c.turn_udp_receive_buffer_kb, 0, 1 << 20),
        integer("turn.stream_allocation_grace_seconds", c.turn_stream_allocation_grace_seconds, 0, 86400),
        integer("turn.max_stream_connections", c.turn_max_stream_connections, 1, 1000000),
        integer("turn.poll_interval_us", c.turn_poll_interval_us, 0, 10'000),
        integer("turn.credential_ttl_seconds", c.turn_credential_ttl_seconds, 60, 7 * 86400),
    };
    for (const auto& s : checks)
      if (!s.ok()) return s.error();
    std::string origins;
    str("http.cors_origins", origins);
    c.cors_origins = split_list(origins);
    str("metrics.listen", c.metrics_listen);
    str("auth.registration", c.registration);
    current = "turn.enabled";
    c.turn_enabled = layered->getBool("turn.enabled", c.turn_enabled);
    current = "turn.tls_on_https_port";
    c.turn_tls_on_https_port = layered->getBool("turn.tls_on_https_port", c.turn_tls_on_https_port);
    current = "turn.allow_loopback_peers";
    c.turn_allow_loopback_peers = layered->getBool("turn.allow_loopback_peers", c.turn_allow_loopback_peers);
    str("turn.listen_udp", c.turn_listen_udp);
    str("turn.listen_tcp", c.turn_listen_tcp);
    str("turn.listen_tls", c.turn_listen_tls);
    str("turn.public_host", c.turn_public_host);
    str("turn.relay_address", c.turn_relay_address);
    str("turn.relay_address_v6", c.turn_relay_address_v6);
    str("turn.relay_public_address", c.turn_relay_public_address);
    str("turn.secret_file", c.turn_secret_file);
    str("admin.socket", c.admin_socket);
    std::string ports = std::to_string(c.turn_relay_port_min) + "-" + std::to_string(c.turn_relay_port_max);
    str("turn.relay_ports", ports);
    if (!parse_port_range(ports, c.turn_relay_port_min, c.turn_relay_port_max))
      return ApiError::bad_request("turn.relay_ports must be MIN-MAX with 1024 <= MIN <= MAX <= 65535");
  } catch (const Poco::Exception& e) {
    return ApiError::bad_request("invalid value for " + current + ": " + e.displayText());
  }
  if (c.registration != "open" && c.registration != "closed")
    return ApiError::bad_request("auth.registration must be open or closed");
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warning" && c.log_level != "error")
    return ApiError::bad_request("server.log_level must be debug, info, warning or error");
  std::string a;
  uint16_t p = 0;
  if (!c.metrics_listen.empty() && !parse_listen(c.metrics_listen, a, p))
    return ApiError::bad_request("metrics.listen must be ADDR:PORT");
  for (const auto* listen : {&c.turn_listen_udp, &c.turn_listen_tcp, &c.turn_listen_tls})
    if (!listen->empty() && *listen != "default" && !parse_listen(*listen, a, p))
      return ApiError::bad_request("turn.listen_* must be ADDR:PORT, default or empty, got '" + *listen + "'");
  if (c.domain.empty() || c.domain.find('.') == std::string::npos)
    return ApiError::bad_request("server.domain must be a dotted DNS name");
  while (!c.public_url.empty() && c.public_url.back() == '/') c.public_url.pop_back();
  if (!c.public_url.empty() &&
      (c.public_url.rfind("https://", 0) != 0 || c.public_url.size() == 8 ||
       c.public_url.find_first_of(" \t\"'<>?#") != std::string::npos))
    return ApiError::bad_request("server.public_url must be an https:// URL without query or fragment, got '" +
                                 c.public_url + "'");
  return c;
}

std::string public_url(const Config& c) {
  if (!c.public_url.empty()) return c.public_url;
  return "https://" + c.domain + (c.listen_port == 443 ? "" : ":" + std::to_string(c.listen_port));
}

}  // namespace wirebox
