// MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (CRC-32 xor
// 0x5354554E) over STUN messages, and the long-term credential key
// MD5(username ":" realm ":" password) (RFC 8489 §9.2.2, §14.5-14.7). HMAC and MD5 come from
// OpenSSL, CRC-32 from zlib.
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "calling/turn/stun_message.h"

namespace wirebox::turn {

enum class IntegrityAlgorithm { kSha1, kSha256 };
enum class CheckResult { kAbsent, kValid, kInvalid };

using LongTermKey = std::array<uint8_t, 16>;
LongTermKey long_term_key(std::string_view username, std::string_view realm, std::string_view password);

// HMAC over `header` (20 bytes, its length field already adjusted) then `body`; writes 20
// (SHA-1) or 32 (SHA-256) bytes to out.
void stun_hmac(IntegrityAlgorithm algorithm, std::span<const uint8_t> key, std::span<const uint8_t> header,
               std::span<const uint8_t> body, uint8_t* out);

// Checks MESSAGE-INTEGRITY-SHA256 if the message has one, else MESSAGE-INTEGRITY. `used`
// tells which was checked, so a response can be protected the same way.
CheckResult verify_message_integrity(const StunMessage& message, std::span<const uint8_t> key,
                                     IntegrityAlgorithm* used = nullptr);

CheckResult verify_fingerprint(const StunMessage& message);

// CRC-32 of bytes (header length already adjusted by the caller) xor'd with 0x5354554E.
uint32_t stun_fingerprint(std::span<const uint8_t> header, std::span<const uint8_t> body);

}  // namespace wirebox::turn
