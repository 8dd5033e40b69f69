#include "auth/token_signer.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/encoding.h"

namespace wirebox::auth {

TokenSigner::TokenSigner(EVP_PKEY* key) : key_(key) {}
TokenSigner::~TokenSigner() { EVP_PKEY_free(key_); }

std::shared_ptr<TokenSigner> TokenSigner::generate() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!key) std::abort();
  return std::make_shared<TokenSigner>(key);
}

Result<std::shared_ptr<TokenSigner>> TokenSigner::load_or_create(const std::string& key_file) {
  if (std::filesystem::exists(key_file)) {
    FILE* f = std::fopen(key_file.c_str(), "r");
    if (!f) return ApiError::internal("cannot read " + key_file);
    EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
      EVP_PKEY_free(key);
      return ApiError::internal(key_file + " is not an Ed25519 private key");
    }
    return std::make_shared<TokenSigner>(key);
  }
  auto signer = generate();
  std::string tmp = key_file + ".tmp";
  mode_t old = umask(077);
  FILE* f = std::fopen(tmp.c_str(), "w");
  umask(old);
  if (!f) return ApiError::internal("cannot write " + tmp);
  bool ok = PEM_write_PrivateKey(f, signer->key_, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok = std::fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
  ok = std::fclose(f) == 0 && ok;
  std::error_code ec;
  if (ok) std::filesystem::rename(tmp, key_file, ec);
  if (!ok || ec) return ApiError::internal("cannot write " + key_file);
  return signer;
}

std::string TokenSigner::sign(const AccessClaims& c) const {
  std::string claims = "v=1;u=" + c.user_id + ";c=" + c.client_id + ";e=" + std::to_string(c.expires_at);
  unsigned char sig[64];
  size_t siglen = sizeof sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_);
  EVP_DigestSign(ctx, sig, &siglen, reinterpret_cast<const unsigned char*>(claims.data()), claims.size());
  EVP_MD_CTX_free(ctx);
  return base64url_encode(claims) + "." + base64url_encode(std::string_view(reinterpret_cast<char*>(sig), siglen));
}

Result<AccessClaims> TokenSigner::verify(std::string_view token, int64_t now_seconds) const {
  const ApiError invalid = ApiError::unauthorized("Invalid access token");
  size_t dot = token.find('.');
  if (dot == std::string_view::npos || token.size() > 1024) return invalid;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto hit = verified_.find(std::string(token));
    if (hit != verified_.end()) {
      if (hit->second.expires_at <= now_seconds) return ApiError::unauthorized("Token expired");
      return hit->second;
    }
  }
  auto claims = base64url_decode(token.substr(0, dot));
  auto sig = base64url_decode(token.substr(dot + 1));
  if (!claims || !sig || sig->size() != 64) return invalid;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key_);
  int rc = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                            reinterpret_cast<const unsigned char*>(claims->data()), claims->size());
  EVP_MD_CTX_free(ctx);
  if (rc != 1) return invalid;
  // Signed by us, so well-formed; parse the fields.
  AccessClaims out;
  std::string_view rest(*claims);
  while (!rest.empty()) {
    size_t semi = rest.find(';');
    std::string_view kv = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    if (kv.size() < 2 || kv[1] != '=') return invalid;
    std::string v(kv.substr(2));
    switch (kv[0]) {
      case 'v': if (v != "1") return invalid; break;
      case 'u': out.user_id = v; break;
      case 'c': out.client_id = v; break;
      case 'e': out.expires_at = std::stoll(v); break;
      default: return invalid;
    }
  }
  if (out.user_id.empty()) return invalid;
  if (out.expires_at <= now_seconds) return ApiError::unauthorized("Token expired");
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (verified_.size() >= kVerifiedCacheSize) verified_.clear();
  verified_.emplace(std::string(token), out);
  return out;
}

}  // namespace wirebox::auth
