// ChannelData messages (RFC 8656 §12.4): a 4-byte header (channel number, length) and the
// application data. Over TCP/TLS the message is padded to a multiple of 4 bytes; over UDP it
// is not. Also the framing rule that splits a TCP/TLS byte stream into STUN and ChannelData
// messages.
//
// Pure functions over byte spans; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace wirebox::turn {

inline constexpr uint16_t kMinChannelNumber = 0x4000;
// RFC 5766's range. RFC 8656 §12 narrowed it to 0x4FFF, but deployed clients (coturn's among
// them) still pick numbers up to 0x7FFF, and accepting them costs nothing.
inline constexpr uint16_t kMaxChannelNumber = 0x7FFF;
inline constexpr size_t kChannelDataHeaderSize = 4;

inline bool valid_channel_number(uint16_t n) { return n >= kMinChannelNumber && n <= kMaxChannelNumber; }

// First byte 0b01xxxxxx: a ChannelData message rather than STUN (RFC 7983 demultiplexing).
inline bool looks_like_channel_data(std::span<const uint8_t> bytes) {
  return bytes.size() >= kChannelDataHeaderSize && (bytes[0] & 0xC0) == 0x40;
}

struct ChannelData {
  uint16_t channel = 0;
  std::span<const uint8_t> data;
};

enum class ChannelDataStatus { kOk, kTooShort, kBadChannel, kTruncated };

// Parses a ChannelData message at the start of bytes (the data length from the header; any
// padding or trailing bytes are not part of it).
ChannelDataStatus parse_channel_data(std::span<const uint8_t> bytes, ChannelData& out);

// Writes the 4-byte header for `length` bytes of data on `channel`.
void write_channel_data_header(uint8_t* out, uint16_t channel, uint16_t length);

// Stream framing: the size of the complete message at the start of `bytes` (including TCP
// padding for ChannelData), 0 if more bytes are needed, or kFramingError if the stream is not
// STUN or ChannelData (the connection must then be closed).
inline constexpr size_t kFramingError = static_cast<size_t>(-1);
size_t stream_frame_size(std::span<const uint8_t> bytes);

}  // namespace wirebox::turn
