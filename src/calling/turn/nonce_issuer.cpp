#include "calling/turn/nonce_issuer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/encoding.h"

namespace wirebox::turn {

NonceIssuer::NonceIssuer(std::string key, int64_t lifetime_ms) : key_(std::move(key)), lifetime_ms_(lifetime_ms) {}

std::string NonceIssuer::mac(std::string_view time_hex) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(time_hex.data()),
       time_hex.size(), digest, &n);
  return hex_encode({reinterpret_cast<const char*>(digest), 8});
}

std::string NonceIssuer::issue(int64_t now_ms) const {
  std::string time_bytes(8, '\0');
  for (int i = 0; i < 8; ++i) time_bytes[i] = static_cast<char>(static_cast<uint64_t>(now_ms) >> (56 - 8 * i));
  std::string time_hex = hex_encode(time_bytes);
  return time_hex + mac(time_hex);
}

NonceIssuer::Validity NonceIssuer::check(std::string_view nonce, int64_t now_ms) const {
  if (nonce.size() != 32) return Validity::kInvalid;
  std::string_view time_hex = nonce.substr(0, 16);
  std::string expected = mac(time_hex);
  if (CRYPTO_memcmp(expected.data(), nonce.data() + 16, 16) != 0) return Validity::kInvalid;
  uint64_t issued = 0;
  for (char c : time_hex) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return Validity::kInvalid;
    issued = issued * 16 + static_cast<uint64_t>(d);
  }
  int64_t age = now_ms - static_cast<int64_t>(issued);
  return age >= 0 && age <= lifetime_ms_ ? Validity::kValid : Validity::kStale;
}

}  // namespace wirebox::turn
