#include "calling/turn/stun_message.h"

#include "calling/turn/byte_order.h"

namespace wirebox::turn {

namespace {
constexpr uint16_t kMessageIntegrityType = 0x0008;
constexpr uint16_t kMessageIntegritySha256Type = 0x001C;
constexpr uint16_t kFingerprintType = 0x8028;
}  // namespace

uint16_t stun_message_type(uint16_t method, StunClass cls) {
  auto c = static_cast<uint16_t>(cls);
  return static_cast<uint16_t>((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) |
                               ((c & 0x1) << 4) | ((c & 0x2) << 7));
}

bool StunMessage::looks_like_stun(std::span<const uint8_t> bytes) {
  return bytes.size() >= kStunHeaderSize && (bytes[0] & 0xC0) == 0 && load_u32(bytes.data() + 4) == kStunMagicCookie;
}

StunParseStatus StunMessage::parse(std::span<const uint8_t> bytes, StunMessage& out) {
  if (bytes.size() < kStunHeaderSize) return StunParseStatus::kTooShort;
  if (!looks_like_stun(bytes)) return StunParseStatus::kNotStun;
  uint16_t type = load_u16(bytes.data());
  size_t length = load_u16(bytes.data() + 2);
  if (length % 4 != 0 || kStunHeaderSize + length > bytes.size()) return StunParseStatus::kBadLength;

  out.method_ = static_cast<uint16_t>((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
  out.class_ = static_cast<StunClass>(((type >> 4) & 0x1) | ((type >> 7) & 0x2));
  for (size_t i = 0; i < 12; ++i) out.transaction_id_[i] = bytes[8 + i];
  out.bytes_ = bytes.first(kStunHeaderSize + length);
  out.attribute_count_ = 0;

  bool after_integrity = false;
  size_t pos = kStunHeaderSize;
  const size_t end = kStunHeaderSize + length;
  while (pos < end) {
    if (end - pos < 4) return StunParseStatus::kBadAttribute;
    uint16_t attr_type = load_u16(bytes.data() + pos);
    size_t attr_len = load_u16(bytes.data() + pos + 2);
    size_t padded = (attr_len + 3) & ~size_t{3};
    if (padded > end - pos - 4) return StunParseStatus::kBadAttribute;
    if (attr_type == kFingerprintType) {
      if (attr_len != 4 || pos + 8 != end) return StunParseStatus::kBadFingerprint;
    }
    bool keep = !after_integrity || attr_type == kMessageIntegritySha256Type || attr_type == kFingerprintType;
    if (keep) {
      if (out.attribute_count_ == kMaxAttributes) return StunParseStatus::kTooManyAttributes;
      out.attributes_[out.attribute_count_++] =
          StunAttribute{attr_type, static_cast<uint16_t>(pos), bytes.subspan(pos + 4, attr_len)};
    }
    if (attr_type == kMessageIntegrityType || attr_type == kMessageIntegritySha256Type) after_integrity = true;
    pos += 4 + padded;
  }
  return StunParseStatus::kOk;
}

const StunAttribute* StunMessage::find(uint16_t type) const {
  for (size_t i = 0; i < attribute_count_; ++i)
    if (attributes_[i].type == type) return &attributes_[i];
  return nullptr;
}

}  // namespace wirebox::turn
