#include "auth/password.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <vector>

#include "core/encoding.h"

namespace wirebox::auth {
namespace {

constexpr uint32_t kR = 8, kP = 1;
constexpr size_t kHashLen = 32;

bool scrypt(std::string_view password, std::string_view salt, int log2_n, uint32_t r, uint32_t p, std::string& out) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "SCRYPT", nullptr);
  if (!kdf) return false;
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (!ctx) return false;
  uint64_t n = uint64_t{1} << log2_n;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, const_cast<char*>(password.data()), password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_end()};
  out.assign(kHashLen, '\0');
  bool ok = EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.data()), out.size(), params) == 1;
  EVP_KDF_CTX_free(ctx);
  return ok;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (true) {
    size_t j = s.find(sep, i);
    out.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string hash_password(std::string_view password, int log2_n) {
  std::string salt = random_bytes(16);
  std::string hash;
  if (!scrypt(password, salt, log2_n, kR, kP, hash)) std::abort();
  return "scrypt$" + std::to_string(log2_n) + "$" + std::to_string(kR) + "$" + std::to_string(kP) + "$" +
         base64_encode(salt) + "$" + base64_encode(hash);
}

bool verify_password(std::string_view password, std::string_view stored) {
  auto parts = split(stored, '$');
  if (parts.size() != 6 || parts[0] != "scrypt") return false;
  int log2_n = 0;
  uint32_t r = 0, p = 0;
  try {
    log2_n = std::stoi(std::string(parts[1]));
    r = static_cast<uint32_t>(std::stoul(std::string(parts[2])));
    p = static_cast<uint32_t>(std::stoul(std::string(parts[3])));
  } catch (...) {
    return false;
  }
  if (log2_n < 1 || log2_n > 22 || r == 0 || p == 0) return false;
  auto salt = base64_decode(parts[4]);
  auto expected = base64_decode(parts[5]);
  if (!salt || !expected) return false;
  std::string actual;
  if (!scrypt(password, *salt, log2_n, r, p, actual) || actual.size() != expected->size()) return false;
  return CRYPTO_memcmp(actual.data(), expected->data(), actual.size()) == 0;
}

}  // namespace wirebox::auth
