// StunMessageWriter: builds one STUN message in place in a caller-provided buffer (no
// allocation), keeping the header length current after every attribute so that
// MESSAGE-INTEGRITY and FINGERPRINT can be appended last. If the buffer is too small the
// writer stops writing and ok() turns false; callers drop such a message.
//
// Ownership: writes into the caller's buffer, which must outlive the writer.
// Thread safety: none; one writer per message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "calling/turn/stun_attributes.h"
#include "calling/turn/stun_integrity.h"
#include "calling/turn/stun_message.h"

namespace wirebox::turn {

class StunMessageWriter {
 public:
  StunMessageWriter(std::span<uint8_t> buffer, uint16_t method, StunClass cls, const TransactionId& id);

  void add_bytes(uint16_t type, std::span<const uint8_t> value);
  void add_text(uint16_t type, std::string_view value);
  void add_u32(uint16_t type, uint32_t value);
  void add_xor_address(uint16_t type, const Endpoint& endpoint);
  void add_error_code(int code);  // with the standard reason phrase
  void add_unknown_attributes(std::span<const uint16_t> types);
  // Must come after every attribute except FINGERPRINT.
  void add_message_integrity(std::span<const uint8_t> key, IntegrityAlgorithm algorithm);
  void add_fingerprint();  // must be last

  bool ok() const { return ok_; }
  std::span<const uint8_t> bytes() const { return buffer_.first(size_); }

 private:
  uint8_t* reserve(uint16_t type, size_t value_size);  // writes the attribute header; nullptr on overflow

  std::span<uint8_t> buffer_;
  size_t size_ = 0;
  bool ok_ = true;
};

}  // namespace wirebox::turn
