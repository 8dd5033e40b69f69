// StunMessage: a parsed, non-owning view of one STUN message (RFC 8489 §5, §14): class,
// method, transaction id and the attribute list. Parsing never allocates and never trusts a
// length field: every attribute must fit the message, the message length must be a multiple
// of 4 and fit the input. Attributes after MESSAGE-INTEGRITY other than
// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are ignored (§14.5); FINGERPRINT must be last.
//
// Ownership: the view points into the caller's buffer, which must outlive it.
// Thread safety: a value type; distinct objects may be used from distinct threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace wirebox::turn {

inline constexpr uint32_t kStunMagicCookie = 0x2112A442;
inline constexpr size_t kStunHeaderSize = 20;

enum class StunClass : uint8_t { kRequest = 0, kIndication = 1, kSuccessResponse = 2, kErrorResponse = 3 };

// Methods this server knows (RFC 8489 Binding; RFC 8656 TURN).
enum class StunMethod : uint16_t {
  kBinding = 0x001,
  kAllocate = 0x003,
  kRefresh = 0x004,
  kSend = 0x006,
  kData = 0x007,
  kCreatePermission = 0x008,
  kChannelBind = 0x009,
};

using TransactionId = std::array<uint8_t, 12>;

// The 14-bit message type interleaves method and class bits (RFC 8489 §5, figure 3).
uint16_t stun_message_type(uint16_t method, StunClass cls);

struct StunAttribute {
  uint16_t type = 0;
  uint16_t offset = 0;  // of the attribute header within the message
  std::span<const uint8_t> value;

  std::string_view text() const { return {reinterpret_cast<const char*>(value.data()), value.size()}; }
};

enum class StunParseStatus {
  kOk,
  kTooShort,           // fewer than 20 bytes or attributes past the declared end
  kNotStun,            // top bits set or wrong magic cookie
  kBadLength,          // message length not a multiple of 4 or larger than the input
  kBadAttribute,       // an attribute overruns the message
  kTooManyAttributes,  // more than kMaxAttributes
  kBadFingerprint,     // FINGERPRINT present but not last, or wrong size
};

class StunMessage {
 public:
  static constexpr size_t kMaxAttributes = 32;

  // Parses exactly one message from the start of bytes; extra trailing bytes are not part of
  // it (size() tells how many were consumed).
  static StunParseStatus parse(std::span<const uint8_t> bytes, StunMessage& out);

  // Quick check used by transports to demultiplex STUN from ChannelData: first two bits zero
  // and the magic cookie in place.
  static bool looks_like_stun(std::span<const uint8_t> bytes);

  uint16_t method() const { return method_; }
  StunClass message_class() const { return class_; }
  const TransactionId& transaction_id() const { return transaction_id_; }
  std::span<const uint8_t> bytes() const { return bytes_; }
  size_t size() const { return bytes_.size(); }

  std::span<const StunAttribute> attributes() const { return {attributes_.data(), attribute_count_}; }
  // First attribute of this type, or nullptr.
  const StunAttribute* find(uint16_t type) const;

 private:
  uint16_t method_ = 0;
  StunClass class_ = StunClass::kRequest;
  TransactionId transaction_id_{};
  std::span<const uint8_t> bytes_;
  std::array<StunAttribute, kMaxAttributes> attributes_{};
  size_t attribute_count_ = 0;
};

}  // namespace wirebox::turn
