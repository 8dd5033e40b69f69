// NonceIssuer: stateless NONCE values for the long-term credential mechanism (RFC 8489
// §9.2). A nonce is 16 hex digits of its issue time (ms) and 16 hex digits of an HMAC-SHA256
// over that time with a per-process random key, so any loop can check any nonce without
// shared state, and a nonce older than the lifetime is answered with 438 Stale Nonce.
//
// Thread safety: immutable after construction; safe from every thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wirebox::turn {

class NonceIssuer {
 public:
  NonceIssuer(std::string key, int64_t lifetime_ms);

  enum class Validity { kValid, kStale, kInvalid };

  std::string issue(int64_t now_ms) const;
  Validity check(std::string_view nonce, int64_t now_ms) const;

 private:
  std::string mac(std::string_view time_hex) const;

  std::string key_;
  int64_t lifetime_ms_;
};

}  // namespace wirebox::turn
