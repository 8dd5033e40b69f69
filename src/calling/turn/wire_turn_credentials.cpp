#include "calling/turn/wire_turn_credentials.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/encoding.h"

namespace wirebox::turn {

namespace {

// Consumes "<prefix><digits>" followed by '.' or the end; false if it does not match.
bool take_number(std::string_view& s, std::string_view prefix, int64_t max, int64_t& out) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  size_t n = 0;
  int64_t v = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9' && n < 19) {
    v = v * 10 + (s[n] - '0');
    if (v > max) return false;
    ++n;
  }
  if (n == 0) return false;
  s.remove_prefix(n);
  out = v;
  return true;
}

}  // namespace

std::optional<WireTurnUsername> parse_wire_turn_username(std::string_view s) {
  WireTurnUsername out;
  int64_t version = 0;
  int64_t key = 0;
  if (!take_number(s, "d=", int64_t{1} << 40, out.expires_at)) return std::nullopt;
  if (!take_number(s, ".v=", 9, version) || version != 1) return std::nullopt;
  if (!take_number(s, ".k=", 1000, key)) return std::nullopt;
  out.key_index = static_cast<int>(key);
  if (s.substr(0, 7) != ".t=s.r=") return std::nullopt;
  s.remove_prefix(7);
  if (s.empty() || s.size() > 64) return std::nullopt;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return std::nullopt;
  out.random = s;
  return out;
}

std::string make_wire_turn_username(int64_t expires_at, int key_index, std::string_view random) {
  return "d=" + std::to_string(expires_at) + ".v=1.k=" + std::to_string(key_index) + ".t=s.r=" + std::string(random);
}

std::string wire_turn_password(std::string_view secret, std::string_view username) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha512(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(username.data()), username.size(), digest, &n);
  return base64_encode({reinterpret_cast<const char*>(digest), n});
}

}  // namespace wirebox::turn
