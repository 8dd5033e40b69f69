// Access tokens: short-lived bearer tokens signed with Ed25519 and verified with no database
// hit. Format: base64url(claims) "." base64url(signature), claims "v=1;u=<uid>;c=<cid>;e=<exp>"
// (URL-safe, so it also travels in the WebSocket query string). Thread-safe after construction.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/api_error.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace wirebox::auth {

struct AccessClaims {
  std::string user_id;
  std::string client_id;  // empty when not bound to a client
  int64_t expires_at = 0;  // Unix seconds
};

class TokenSigner {
 public:
  // Loads the PEM Ed25519 private key at key_file, creating it (mode 0600) if absent.
  static Result<std::shared_ptr<TokenSigner>> load_or_create(const std::string& key_file);
  // A signer with a fresh in-memory key (tests).
  static std::shared_ptr<TokenSigner> generate();
  ~TokenSigner();

  std::string sign(const AccessClaims& claims) const;
  // 401 for malformed, forged or expired tokens (the client then refreshes via POST /access).
  Result<AccessClaims> verify(std::string_view token, int64_t now_seconds) const;

  explicit TokenSigner(EVP_PKEY* key);  // takes ownership

 private:
  EVP_PKEY* key_;
  // Tokens already verified by this signer → their claims. The Ed25519 check is most of an
  // authenticated request's CPU (bench/https), and clients reuse a token for 15 minutes.
  // Bounded (cleared when full); expiry is still checked on every hit.
  static constexpr size_t kVerifiedCacheSize = 8192;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, AccessClaims> verified_;
};

}  // namespace wirebox::auth
