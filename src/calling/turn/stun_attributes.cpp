#include "calling/turn/stun_attributes.h"

#include <cstring>

#include "calling/turn/byte_order.h"

namespace wirebox::turn {

namespace {

// The XOR mask for an address: magic cookie then (for IPv6) the transaction id.
void xor_mask(const TransactionId& id, uint8_t mask[16]) {
  store_u32(mask, kStunMagicCookie);
  std::memcpy(mask + 4, id.data(), id.size());
}

}  // namespace

std::optional<Endpoint> decode_xor_address(std::span<const uint8_t> value, const TransactionId& id) {
  if (value.size() < 8) return std::nullopt;
  uint8_t mask[16];
  xor_mask(id, mask);
  uint16_t port = load_u16(value.data() + 2) ^ static_cast<uint16_t>(kStunMagicCookie >> 16);
  if (value[1] == static_cast<uint8_t>(AddressFamily::kIpv4) && value.size() == 8) {
    boost::asio::ip::address_v4::bytes_type b;
    for (size_t i = 0; i < 4; ++i) b[i] = value[4 + i] ^ mask[i];
    return Endpoint(boost::asio::ip::address_v4(b), port);
  }
  if (value[1] == static_cast<uint8_t>(AddressFamily::kIpv6) && value.size() == 20) {
    boost::asio::ip::address_v6::bytes_type b;
    for (size_t i = 0; i < 16; ++i) b[i] = value[4 + i] ^ mask[i];
    return Endpoint(boost::asio::ip::address_v6(b), port);
  }
  return std::nullopt;
}

size_t encode_xor_address(const Endpoint& endpoint, const TransactionId& id, std::span<uint8_t> out) {
  uint8_t mask[16];
  xor_mask(id, mask);
  const auto& address = endpoint.address();
  size_t size = address.is_v4() ? 8 : 20;
  if (out.size() < size) return 0;
  out[0] = 0;
  out[1] = static_cast<uint8_t>(address.is_v4() ? AddressFamily::kIpv4 : AddressFamily::kIpv6);
  store_u16(out.data() + 2, endpoint.port() ^ static_cast<uint16_t>(kStunMagicCookie >> 16));
  if (address.is_v4()) {
    auto b = address.to_v4().to_bytes();
    for (size_t i = 0; i < 4; ++i) out[4 + i] = b[i] ^ mask[i];
  } else {
    auto b = address.to_v6().to_bytes();
    for (size_t i = 0; i < 16; ++i) out[4 + i] = b[i] ^ mask[i];
  }
  return size;
}

std::optional<uint32_t> decode_u32(std::span<const uint8_t> value) {
  if (value.size() != 4) return std::nullopt;
  return load_u32(value.data());
}

std::optional<ErrorCode> decode_error_code(std::span<const uint8_t> value) {
  if (value.size() < 4) return std::nullopt;
  int code = (value[2] & 0x7) * 100 + value[3];
  if (code < 300 || code > 699) return std::nullopt;
  return ErrorCode{code, {reinterpret_cast<const char*>(value.data() + 4), value.size() - 4}};
}

std::optional<uint16_t> decode_channel_number(std::span<const uint8_t> value) {
  if (value.size() != 4) return std::nullopt;
  return load_u16(value.data());
}

std::optional<uint8_t> decode_requested_transport(std::span<const uint8_t> value) {
  if (value.size() != 4) return std::nullopt;
  return value[0];
}

std::optional<AddressFamily> decode_address_family(std::span<const uint8_t> value) {
  if (value.size() != 4) return std::nullopt;
  if (value[0] == 0x01) return AddressFamily::kIpv4;
  if (value[0] == 0x02) return AddressFamily::kIpv6;
  return std::nullopt;
}

std::string_view reason_phrase(int code) {
  switch (code) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 420: return "Unknown Attribute";
    case 437: return "Allocation Mismatch";
    case 438: return "Stale Nonce";
    case 440: return "Address Family not Supported";
    case 441: return "Wrong Credentials";
    case 442: return "Unsupported Transport Protocol";
    case 486: return "Allocation Quota Reached";
    case 500: return "Server Error";
    case 508: return "Insufficient Capacity";
    default: return "Error";
  }
}

}  // namespace wirebox::turn
