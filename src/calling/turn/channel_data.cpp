#include "calling/turn/channel_data.h"

#include "calling/turn/byte_order.h"
#include "calling/turn/stun_message.h"

namespace wirebox::turn {

ChannelDataStatus parse_channel_data(std::span<const uint8_t> bytes, ChannelData& out) {
  if (bytes.size() < kChannelDataHeaderSize) return ChannelDataStatus::kTooShort;
  uint16_t channel = load_u16(bytes.data());
  if (!valid_channel_number(channel)) return ChannelDataStatus::kBadChannel;
  size_t length = load_u16(bytes.data() + 2);
  if (length > bytes.size() - kChannelDataHeaderSize) return ChannelDataStatus::kTruncated;
  out.channel = channel;
  out.data = bytes.subspan(kChannelDataHeaderSize, length);
  return ChannelDataStatus::kOk;
}

void write_channel_data_header(uint8_t* out, uint16_t channel, uint16_t length) {
  store_u16(out, channel);
  store_u16(out + 2, length);
}

size_t stream_frame_size(std::span<const uint8_t> bytes) {
  if (bytes.size() < 4) return 0;
  uint8_t top = bytes[0] & 0xC0;
  size_t length = load_u16(bytes.data() + 2);
  size_t size = 0;
  if (top == 0x00) {
    if (bytes.size() >= 8 && load_u32(bytes.data() + 4) != kStunMagicCookie) return kFramingError;
    if (length % 4 != 0) return kFramingError;
    size = kStunHeaderSize + length;
  } else if (top == 0x40) {
    if (!valid_channel_number(load_u16(bytes.data()))) return kFramingError;
    size = (kChannelDataHeaderSize + length + 3) & ~size_t{3};
  } else {
    return kFramingError;
  }
  return bytes.size() >= size ? size : 0;
}

}  // namespace wirebox::turn
