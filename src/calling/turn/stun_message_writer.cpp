#include "calling/turn/stun_message_writer.h"

#include <cstring>

#include "calling/turn/byte_order.h"

namespace wirebox::turn {

StunMessageWriter::StunMessageWriter(std::span<uint8_t> buffer, uint16_t method, StunClass cls,
                                     const TransactionId& id)
    : buffer_(buffer) {
  if (buffer_.size() < kStunHeaderSize) {
    ok_ = false;
    return;
  }
  store_u16(buffer_.data(), stun_message_type(method, cls));
  store_u16(buffer_.data() + 2, 0);
  store_u32(buffer_.data() + 4, kStunMagicCookie);
  std::memcpy(buffer_.data() + 8, id.data(), id.size());
  size_ = kStunHeaderSize;
}

uint8_t* StunMessageWriter::reserve(uint16_t type, size_t value_size) {
  size_t padded = (value_size + 3) & ~size_t{3};
  if (!ok_ || value_size > 0xFFFF || buffer_.size() - size_ < 4 + padded || size_ + 4 + padded - kStunHeaderSize > 0xFFFF) {
    ok_ = false;
    return nullptr;
  }
  uint8_t* p = buffer_.data() + size_;
  store_u16(p, type);
  store_u16(p + 2, static_cast<uint16_t>(value_size));
  std::memset(p + 4 + value_size, 0, padded - value_size);
  size_ += 4 + padded;
  store_u16(buffer_.data() + 2, static_cast<uint16_t>(size_ - kStunHeaderSize));
  return p + 4;
}

void StunMessageWriter::add_bytes(uint16_t type, std::span<const uint8_t> value) {
  if (uint8_t* p = reserve(type, value.size()); p && !value.empty()) std::memcpy(p, value.data(), value.size());
}

void StunMessageWriter::add_text(uint16_t type, std::string_view value) {
  add_bytes(type, {reinterpret_cast<const uint8_t*>(value.data()), value.size()});
}

void StunMessageWriter::add_u32(uint16_t type, uint32_t value) {
  if (uint8_t* p = reserve(type, 4)) store_u32(p, value);
}

void StunMessageWriter::add_xor_address(uint16_t type, const Endpoint& endpoint) {
  TransactionId id;
  std::memcpy(id.data(), buffer_.data() + 8, id.size());
  uint8_t value[20];
  size_t n = encode_xor_address(endpoint, id, value);
  add_bytes(type, {value, n});
}

void StunMessageWriter::add_error_code(int code) {
  std::string_view reason = reason_phrase(code);
  if (uint8_t* p = reserve(attr::kErrorCode, 4 + reason.size())) {
    p[0] = 0;
    p[1] = 0;
    p[2] = static_cast<uint8_t>(code / 100);
    p[3] = static_cast<uint8_t>(code % 100);
    std::memcpy(p + 4, reason.data(), reason.size());
  }
}

void StunMessageWriter::add_unknown_attributes(std::span<const uint16_t> types) {
  if (uint8_t* p = reserve(attr::kUnknownAttributes, types.size() * 2))
    for (size_t i = 0; i < types.size(); ++i) store_u16(p + 2 * i, types[i]);
}

void StunMessageWriter::add_message_integrity(std::span<const uint8_t> key, IntegrityAlgorithm algorithm) {
  size_t digest_size = algorithm == IntegrityAlgorithm::kSha1 ? 20 : 32;
  size_t body_size = size_ - kStunHeaderSize;
  uint8_t* p = reserve(algorithm == IntegrityAlgorithm::kSha1 ? attr::kMessageIntegrity : attr::kMessageIntegritySha256,
                       digest_size);
  if (!p) return;
  // The header already counts the integrity attribute, as the HMAC input requires.
  stun_hmac(algorithm, key, buffer_.first(kStunHeaderSize), buffer_.subspan(kStunHeaderSize, body_size), p);
}

void StunMessageWriter::add_fingerprint() {
  size_t body_size = size_ - kStunHeaderSize;
  uint8_t* p = reserve(attr::kFingerprint, 4);
  if (!p) return;
  store_u32(p, stun_fingerprint(buffer_.first(kStunHeaderSize), buffer_.subspan(kStunHeaderSize, body_size)));
}

}  // namespace wirebox::turn
