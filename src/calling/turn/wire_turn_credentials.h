// Wire's TURN credentials (wire-server brig `/calls/config/v2`, coturn fork `zrest`):
// username "d=<unix expiry>.v=1.k=<key index>.t=s.r=<random>", password
// base64(HMAC-SHA512(secret[key index], username)). The relay recomputes the password from the
// username, so no per-user state is shared between the HTTP API and the relay.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wirebox::turn {

struct WireTurnUsername {
  int64_t expires_at = 0;  // unix seconds
  int key_index = 0;
  std::string_view random;  // the r= part; identifies the user for quotas
};

// Strict parse: exactly the five fields in order, digits where numbers are expected,
// r= of [a-z0-9]{1,64}.
std::optional<WireTurnUsername> parse_wire_turn_username(std::string_view username);

std::string make_wire_turn_username(int64_t expires_at, int key_index, std::string_view random);

std::string wire_turn_password(std::string_view secret, std::string_view username);

}  // namespace wirebox::turn
