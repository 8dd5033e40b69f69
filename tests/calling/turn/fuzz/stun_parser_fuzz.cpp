// libFuzzer target: every byte string through the STUN parser, integrity/fingerprint checks,
// attribute decoders, ChannelData parser and stream framing. Must never crash or read out of
// bounds (built with ASan); see tests/calling/turn/CMakeLists.txt (WIREBOX_FUZZ).
#include <cstddef>
#include <cstdint>
#include <span>

#include "calling/turn/channel_data.h"
#include "calling/turn/stun_attributes.h"
#include "calling/turn/stun_integrity.h"
#include "calling/turn/stun_message.h"

using namespace wirebox::turn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  stream_frame_size(bytes);
  ChannelData cd;
  parse_channel_data(bytes, cd);
  StunMessage m;
  if (StunMessage::parse(bytes, m) != StunParseStatus::kOk) return 0;
  static const uint8_t key[16] = {1, 2, 3};
  verify_message_integrity(m, key);
  verify_fingerprint(m);
  for (const auto& a : m.attributes()) {
    decode_xor_address(a.value, m.transaction_id());
    decode_u32(a.value);
    decode_error_code(a.value);
    decode_channel_number(a.value);
    decode_requested_transport(a.value);
    decode_address_family(a.value);
  }
  return 0;
}
