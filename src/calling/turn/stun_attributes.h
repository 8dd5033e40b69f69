// STUN/TURN attribute types and the codecs for the attribute values that carry structure:
// (XOR-)addresses, ERROR-CODE, 32-bit integers, REQUESTED-TRANSPORT, CHANNEL-NUMBER.
// References: RFC 8489 §14, RFC 8656 §18.
//
// Pure functions over byte spans; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <boost/asio/ip/udp.hpp>

#include "calling/turn/stun_message.h"

namespace wirebox::turn {

using Endpoint = boost::asio::ip::udp::endpoint;

namespace attr {
inline constexpr uint16_t kMappedAddress = 0x0001;
inline constexpr uint16_t kUsername = 0x0006;
inline constexpr uint16_t kMessageIntegrity = 0x0008;
inline constexpr uint16_t kErrorCode = 0x0009;
inline constexpr uint16_t kUnknownAttributes = 0x000A;
inline constexpr uint16_t kChannelNumber = 0x000C;
inline constexpr uint16_t kLifetime = 0x000D;
inline constexpr uint16_t kXorPeerAddress = 0x0012;
inline constexpr uint16_t kData = 0x0013;
inline constexpr uint16_t kRealm = 0x0014;
inline constexpr uint16_t kNonce = 0x0015;
inline constexpr uint16_t kXorRelayedAddress = 0x0016;
inline constexpr uint16_t kRequestedAddressFamily = 0x0017;
inline constexpr uint16_t kEvenPort = 0x0018;
inline constexpr uint16_t kRequestedTransport = 0x0019;
inline constexpr uint16_t kDontFragment = 0x001A;
inline constexpr uint16_t kMessageIntegritySha256 = 0x001C;
inline constexpr uint16_t kPasswordAlgorithm = 0x001D;
inline constexpr uint16_t kUserhash = 0x001E;
inline constexpr uint16_t kXorMappedAddress = 0x0020;
inline constexpr uint16_t kReservationToken = 0x0022;
inline constexpr uint16_t kPriority = 0x0024;
inline constexpr uint16_t kUseCandidate = 0x0025;
inline constexpr uint16_t kSoftware = 0x8022;
inline constexpr uint16_t kAlternateServer = 0x8023;
inline constexpr uint16_t kFingerprint = 0x8028;
inline constexpr uint16_t kIceControlled = 0x8029;
inline constexpr uint16_t kIceControlling = 0x802A;

// Types 0x0000-0x7FFF must be understood by the receiver (RFC 8489 §14).
inline bool comprehension_required(uint16_t type) { return type < 0x8000; }
}  // namespace attr

inline constexpr uint8_t kTransportUdp = 17;  // REQUESTED-TRANSPORT protocol number

enum class AddressFamily : uint8_t { kIpv4 = 0x01, kIpv6 = 0x02 };

// XOR-MAPPED-ADDRESS / XOR-PEER-ADDRESS / XOR-RELAYED-ADDRESS value (RFC 8489 §14.2).
std::optional<Endpoint> decode_xor_address(std::span<const uint8_t> value, const TransactionId& id);
// Writes 8 (IPv4) or 20 (IPv6) bytes into out; returns the count, 0 if out is too small.
size_t encode_xor_address(const Endpoint& endpoint, const TransactionId& id, std::span<uint8_t> out);

std::optional<uint32_t> decode_u32(std::span<const uint8_t> value);

struct ErrorCode {
  int code = 0;  // 300..699
  std::string_view reason;
};
std::optional<ErrorCode> decode_error_code(std::span<const uint8_t> value);

// CHANNEL-NUMBER value: the number in the first two bytes, RFFU after.
std::optional<uint16_t> decode_channel_number(std::span<const uint8_t> value);

// REQUESTED-TRANSPORT: the protocol number in the first byte.
std::optional<uint8_t> decode_requested_transport(std::span<const uint8_t> value);

// REQUESTED-ADDRESS-FAMILY: 0x01 or 0x02 in the first byte; nullopt for anything else.
std::optional<AddressFamily> decode_address_family(std::span<const uint8_t> value);

// Standard reason phrases for the error codes this server sends.
std::string_view reason_phrase(int code);

}  // namespace wirebox::turn
