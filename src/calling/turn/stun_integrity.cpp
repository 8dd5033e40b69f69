#include "calling/turn/stun_integrity.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <cstring>

#include "calling/turn/byte_order.h"
#include "calling/turn/stun_attributes.h"

namespace wirebox::turn {

LongTermKey long_term_key(std::string_view username, std::string_view realm, std::string_view password) {
  LongTermKey key{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_md5(), nullptr);
  EVP_DigestUpdate(ctx, username.data(), username.size());
  EVP_DigestUpdate(ctx, ":", 1);
  EVP_DigestUpdate(ctx, realm.data(), realm.size());
  EVP_DigestUpdate(ctx, ":", 1);
  EVP_DigestUpdate(ctx, password.data(), password.size());
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, key.data(), &n);
  EVP_MD_CTX_free(ctx);
  return key;
}

void stun_hmac(IntegrityAlgorithm algorithm, std::span<const uint8_t> key, std::span<const uint8_t> header,
               std::span<const uint8_t> body, uint8_t* out) {
  // EVP_MAC in two updates: the header copy carries the adjusted length, so the message itself
  // is never modified or copied.
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char digest[16];
  std::strcpy(digest, algorithm == IntegrityAlgorithm::kSha1 ? "SHA1" : "SHA256");
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  EVP_MAC_init(ctx, key.data(), key.size(), params);
  EVP_MAC_update(ctx, header.data(), header.size());
  EVP_MAC_update(ctx, body.data(), body.size());
  size_t n = 0;
  EVP_MAC_final(ctx, out, &n, algorithm == IntegrityAlgorithm::kSha1 ? 20 : 32);
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
}

uint32_t stun_fingerprint(std::span<const uint8_t> header, std::span<const uint8_t> body) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, header.data(), static_cast<uInt>(header.size()));
  crc = crc32(crc, body.data(), static_cast<uInt>(body.size()));
  return static_cast<uint32_t>(crc) ^ 0x5354554E;
}

namespace {

// The 20-byte header with its length field rewritten to end right after the attribute at
// `offset` whose value is `value_size` bytes long.
std::array<uint8_t, kStunHeaderSize> adjusted_header(const StunMessage& message, size_t offset, size_t value_size) {
  std::array<uint8_t, kStunHeaderSize> header;
  std::memcpy(header.data(), message.bytes().data(), kStunHeaderSize);
  store_u16(header.data() + 2, static_cast<uint16_t>(offset + 4 + value_size - kStunHeaderSize));
  return header;
}

}  // namespace

CheckResult verify_message_integrity(const StunMessage& message, std::span<const uint8_t> key,
                                     IntegrityAlgorithm* used) {
  IntegrityAlgorithm algorithm = IntegrityAlgorithm::kSha256;
  const StunAttribute* mi = message.find(attr::kMessageIntegritySha256);
  if (!mi) {
    algorithm = IntegrityAlgorithm::kSha1;
    mi = message.find(attr::kMessageIntegrity);
  }
  if (!mi) return CheckResult::kAbsent;
  size_t expected = algorithm == IntegrityAlgorithm::kSha1 ? 20 : 32;
  // RFC 8489 §14.6 allows a truncated SHA-256 of at least 16 bytes; only full length is accepted
  // here, as every known client sends it.
  if (mi->value.size() != expected) return CheckResult::kInvalid;
  if (used) *used = algorithm;
  auto header = adjusted_header(message, mi->offset, expected);
  uint8_t digest[32];
  stun_hmac(algorithm, key, header, message.bytes().subspan(kStunHeaderSize, mi->offset - kStunHeaderSize), digest);
  return CRYPTO_memcmp(digest, mi->value.data(), expected) == 0 ? CheckResult::kValid : CheckResult::kInvalid;
}

CheckResult verify_fingerprint(const StunMessage& message) {
  const StunAttribute* fp = message.find(attr::kFingerprint);
  if (!fp) return CheckResult::kAbsent;
  auto header = adjusted_header(message, fp->offset, 4);
  uint32_t crc = stun_fingerprint(header, message.bytes().subspan(kStunHeaderSize, fp->offset - kStunHeaderSize));
  return crc == load_u32(fp->value.data()) ? CheckResult::kValid : CheckResult::kInvalid;
}

}  // namespace wirebox::turn
