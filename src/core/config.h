// Daemon configuration: one INI file (sections per module) layered under command-line
// overrides. Every key is listed in docs/configuration.md; unknown keys are an error so typos
// don't silently fall back to defaults. With no file at all the defaults give a working
// zero-config daemon on https://127.0.0.1:8443.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/api_error.h"

namespace wirebox {

struct Config {
  // [server]
  std::string domain = "wirebox.localhost";
  std::string data_dir = "wirebox-data";
  std::string log_level = "info";
  std::string public_url;  // empty: https://<domain>[:<listen port>], see public_url()
  std::string title;       // name clients show for this backend; empty: the domain
  std::string web_root = "/usr/share/wirebox/web";  // the start page; where the .deb installs web/
  // [http]
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 8443;
  std::string cert_file;  // empty: self-signed under <data_dir>/tls
  std::string key_file;
  int loops = 0;    // 0: one per core
  int workers = 4;  // blocking pool
  size_t max_body_bytes = 1 << 20;
  size_t max_connections = 10000;
  int idle_timeout_seconds = 60;
  std::vector<std::string> cors_origins;  // empty: https://<domain> and the local listen origins
  // [metrics]
  std::string metrics_listen;  // "127.0.0.1:9100"; empty: off
  // [auth]
  std::string registration = "open";  // open | closed
  int access_token_ttl_seconds = 900;
  int64_t persistent_cookie_ttl_seconds = 4838400;  // 56 days, as wire-server
  int64_t session_cookie_ttl_seconds = 86400;
  int64_t cookie_renew_age_seconds = 1209600;  // 14 days
  int login_attempts_per_minute = 10;  // per account and per address
  int registrations_per_minute = 30;  // per address (IPv6: per /64)
  int password_scrypt_log2_n = 15;
  // [clients]
  int max_permanent_clients = 7;
  // [teams]
  int64_t teams_invitation_ttl_seconds = 1209600;  // 14 days
  // [conversations]
  int conversations_max_group_size = 500;  // wire-server's default
  // [notifications]
  int notifications_retention_days = 28;
  int64_t notifications_max_store_mb = 4096;
  int64_t notifications_max_per_user = 100000;
  // [websocket]
  int websocket_max_queued_frames = 1024;
  int websocket_max_sockets_per_user = 32;
  int websocket_idle_timeout_seconds = 60;
  // [assets]
  int64_t assets_max_upload_mb = 25;       // personal users
  int64_t assets_team_max_upload_mb = 100;  // team members
  int assets_volatile_retention_days = 28;
  int assets_expiring_retention_days = 28;
  int assets_uploads_per_minute = 60;
  int assets_max_uploads_in_flight = 128;
  int assets_max_user_uploads_in_flight = 16;
  int64_t assets_upload_mb_per_hour = 4096;
  int assets_sweep_interval_seconds = 3600;
  // [turn] — the embedded TURN relay. An empty listen value is off; "default" is 127.0.0.1
  // on 3478 (UDP, TCP) / 5349 (TLS), or port 0 when http.listen has port 0 (test daemons).
  bool turn_enabled = true;
  std::string turn_listen_udp = "default";
  std::string turn_listen_tcp = "default";
  std::string turn_listen_tls = "default";
  bool turn_tls_on_https_port = true;  // TURN over TLS also on the HTTPS port (turns:host:443)
  std::string turn_public_host;  // host in advertised turn:/turns: URLs; empty: the listen address
  std::string turn_relay_address = "127.0.0.1";
  std::string turn_relay_address_v6;
  std::string turn_relay_public_address;
  uint16_t turn_relay_port_min = 49152;
  uint16_t turn_relay_port_max = 65535;
  std::string turn_secret_file;  // empty: <data_dir>/secrets/turn-secret
  bool turn_allow_loopback_peers = false;
  int turn_loops = 0;  // 0: one per core
  uint32_t turn_max_allocations = 10000;
  uint32_t turn_max_allocations_per_user = 16;
  uint32_t turn_max_lifetime_seconds = 3600;
  int64_t turn_max_allocation_kbps = 10000;  // each direction; 0 = unlimited
  int64_t turn_max_total_mbps = 1000;        // each direction; 0 = unlimited
  int64_t turn_udp_receive_buffer_kb = 4096;  // per UDP listener socket; 0 = system default
  uint32_t turn_max_stream_connections = 10000;
  int64_t turn_stream_allocation_grace_seconds = 30;  // TCP/TLS clients without an allocation
  int64_t turn_poll_interval_us = 200;       // timer polling under load; 0 = per readiness
  int64_t turn_credential_ttl_seconds = 3600;
  // [admin]
  std::string admin_socket;  // empty: <data_dir>/admin.sock
};

// The admin socket path admin.socket names, or its default <data_dir>/admin.sock.
std::string admin_socket_path(const Config& config);

// Every recognised key, "section.key", with its one-line description (docs and `config check`).
const std::vector<std::pair<std::string, std::string>>& config_keys();

// Every key of config_keys() with its effective value as text, in the same order (`wirectl
// config show`).
std::vector<std::pair<std::string, std::string>> config_values(const Config& config);

// Loads file (if given) then applies overrides ("section.key" → value). Errors name the key.
Result<Config> load_config(const std::optional<std::string>& file,
                           const std::map<std::string, std::string>& overrides);

// The URL clients reach the box at (deep link, start page): server.public_url, or else
// https://<domain> with the listen port unless it is 443.
std::string public_url(const Config& config);

// "host:port" / "[v6]:port" → address and port.
bool parse_listen(const std::string& s, std::string& address, uint16_t& port);

}  // namespace wirebox
