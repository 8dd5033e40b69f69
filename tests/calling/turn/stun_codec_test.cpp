// STUN codec against the RFC 5769 test vectors, plus round trips through the writer and the
// parser's refusal of malformed input.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "calling/turn/stun_attributes.h"
#include "calling/turn/stun_integrity.h"
#include "calling/turn/stun_message.h"
#include "calling/turn/stun_message_writer.h"
#include "hex.h"

using namespace wirebox::turn;
using wirebox::turn::test::from_hex;

namespace {

std::span<const uint8_t> as_bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// RFC 5769 §2.1 sample request (short-term credentials).
const auto kSampleRequest = from_hex(
    "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74"
    "002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020"
    "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf");
// §2.2 IPv4 response, §2.3 IPv6 response.
const auto kSampleIpv4Response = from_hex(
    "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220"
    "002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
    "80280004c07d4c96");
const auto kSampleIpv6Response = from_hex(
    "010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220"
    "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9"
    "00080014a382954e4be67bf11784c97c8292c275bfe3ed41"
    "80280004c8fb0b4c");
// §2.4 request with long-term authentication.
const auto kSampleLongTermRequest = from_hex(
    "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b90000"
    "0015001c662f2f3439396b39353464364f4c33346f4c39465354767936347341"
    "0014000b6578616d706c652e6f726700"
    "00080014f67024656dd64a3e02b8e0712e85c9a28ca89666");
const std::string kShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";

}  // namespace

TEST_CASE("RFC 5769 sample request parses and verifies", "[turn][stun]") {
  StunMessage m;
  REQUIRE(StunMessage::parse(kSampleRequest, m) == StunParseStatus::kOk);
  CHECK(m.method() == static_cast<uint16_t>(StunMethod::kBinding));
  CHECK(m.message_class() == StunClass::kRequest);
  CHECK(m.attributes().size() == 6);
  REQUIRE(m.find(attr::kSoftware));
  CHECK(m.find(attr::kSoftware)->text() == "STUN test client");
  CHECK(m.find(attr::kUsername)->text() == "evtj:h6vY");
  CHECK(verify_fingerprint(m) == CheckResult::kValid);
  IntegrityAlgorithm used = IntegrityAlgorithm::kSha256;
  CHECK(verify_message_integrity(m, as_bytes(kShortTermPassword), &used) == CheckResult::kValid);
  CHECK(used == IntegrityAlgorithm::kSha1);
  CHECK(verify_message_integrity(m, as_bytes("wrong")) == CheckResult::kInvalid);
}

TEST_CASE("RFC 5769 sample responses decode the mapped address", "[turn][stun]") {
  for (const auto* vec : {&kSampleIpv4Response, &kSampleIpv6Response}) {
    StunMessage m;
    REQUIRE(StunMessage::parse(*vec, m) == StunParseStatus::kOk);
    CHECK(m.message_class() == StunClass::kSuccessResponse);
    CHECK(verify_fingerprint(m) == CheckResult::kValid);
    CHECK(verify_message_integrity(m, as_bytes(kShortTermPassword)) == CheckResult::kValid);
    auto mapped = decode_xor_address(m.find(attr::kXorMappedAddress)->value, m.transaction_id());
    REQUIRE(mapped);
    CHECK(mapped->port() == 32853);
    CHECK(mapped->address().to_string() ==
          (vec == &kSampleIpv4Response ? "192.0.2.1" : "2001:db8:1234:5678:11:2233:4455:6677"));
  }
}

TEST_CASE("RFC 5769 sample request with long-term authentication", "[turn][stun]") {
  StunMessage m;
  REQUIRE(StunMessage::parse(kSampleLongTermRequest, m) == StunParseStatus::kOk);
  CHECK(m.find(attr::kRealm)->text() == "example.org");
  CHECK(m.find(attr::kNonce)->text() == "f//499k954d6OL34oL9FSTvy64sA");
  // "マトリックス" and the SASLprep'd password "TheMatrIX".
  auto key = long_term_key(m.find(attr::kUsername)->text(), "example.org", "TheMatrIX");
  CHECK(verify_message_integrity(m, key) == CheckResult::kValid);
  CHECK(verify_fingerprint(m) == CheckResult::kAbsent);
}

TEST_CASE("writer reproduces the RFC 5769 IPv4 response byte for byte", "[turn][stun]") {
  StunMessage sample;
  REQUIRE(StunMessage::parse(kSampleIpv4Response, sample) == StunParseStatus::kOk);
  uint8_t buffer[256];
  StunMessageWriter w(buffer, static_cast<uint16_t>(StunMethod::kBinding), StunClass::kSuccessResponse,
                      sample.transaction_id());
  // The vector pads SOFTWARE with a space rather than a zero byte, so copy the padded value.
  w.add_text(attr::kSoftware, "test vector");
  buffer[20 + 4 + 11] = ' ';
  w.add_xor_address(attr::kXorMappedAddress, Endpoint(boost::asio::ip::make_address("192.0.2.1"), 32853));
  w.add_message_integrity(as_bytes(kShortTermPassword), IntegrityAlgorithm::kSha1);
  w.add_fingerprint();
  REQUIRE(w.ok());
  auto out = w.bytes();
  REQUIRE(out.size() == kSampleIpv4Response.size());
  CHECK(std::memcmp(out.data(), kSampleIpv4Response.data(), out.size()) == 0);
}

TEST_CASE("every TURN method and class round-trips through writer and parser", "[turn][stun]") {
  TransactionId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (auto method : {StunMethod::kBinding, StunMethod::kAllocate, StunMethod::kRefresh, StunMethod::kSend,
                      StunMethod::kData, StunMethod::kCreatePermission, StunMethod::kChannelBind}) {
    for (auto cls : {StunClass::kRequest, StunClass::kIndication, StunClass::kSuccessResponse,
                     StunClass::kErrorResponse}) {
      uint8_t buffer[512];
      StunMessageWriter w(buffer, static_cast<uint16_t>(method), cls, id);
      Endpoint peer6(boost::asio::ip::make_address("2001:db8::1"), 4000);
      w.add_xor_address(attr::kXorPeerAddress, peer6);
      w.add_u32(attr::kLifetime, 600);
      w.add_u32(attr::kChannelNumber, 0x40000000);
      w.add_error_code(438);
      uint16_t unknown[] = {0x0031, 0x0032, 0x0033};
      w.add_unknown_attributes(unknown);
      w.add_text(attr::kData, "x");
      w.add_message_integrity(as_bytes("key"), IntegrityAlgorithm::kSha256);
      w.add_fingerprint();
      REQUIRE(w.ok());
      StunMessage m;
      REQUIRE(StunMessage::parse(w.bytes(), m) == StunParseStatus::kOk);
      CHECK(m.method() == static_cast<uint16_t>(method));
      CHECK(m.message_class() == cls);
      CHECK(m.transaction_id() == id);
      CHECK(*decode_xor_address(m.find(attr::kXorPeerAddress)->value, id) == peer6);
      CHECK(*decode_u32(m.find(attr::kLifetime)->value) == 600);
      CHECK(*decode_channel_number(m.find(attr::kChannelNumber)->value) == 0x4000);
      auto err = decode_error_code(m.find(attr::kErrorCode)->value);
      REQUIRE(err);
      CHECK(err->code == 438);
      CHECK(err->reason == "Stale Nonce");
      CHECK(m.find(attr::kUnknownAttributes)->value.size() == 6);
      CHECK(m.find(attr::kData)->value.size() == 1);
      CHECK(verify_message_integrity(m, as_bytes("key")) == CheckResult::kValid);
      CHECK(verify_fingerprint(m) == CheckResult::kValid);
    }
  }
}

TEST_CASE("message type interleaves method and class bits", "[turn][stun]") {
  CHECK(stun_message_type(0x001, StunClass::kRequest) == 0x0001);
  CHECK(stun_message_type(0x001, StunClass::kSuccessResponse) == 0x0101);
  CHECK(stun_message_type(0x001, StunClass::kErrorResponse) == 0x0111);
  CHECK(stun_message_type(0x003, StunClass::kRequest) == 0x0003);
  CHECK(stun_message_type(0x007, StunClass::kIndication) == 0x0017);
  CHECK(stun_message_type(0x009, StunClass::kSuccessResponse) == 0x0109);
}

TEST_CASE("malformed messages are refused, not read past their end", "[turn][stun]") {
  StunMessage m;
  auto msg = kSampleRequest;
  CHECK(StunMessage::parse(std::span(msg).first(19), m) == StunParseStatus::kTooShort);
  auto bad_cookie = msg;
  bad_cookie[4] = 0;
  CHECK(StunMessage::parse(bad_cookie, m) == StunParseStatus::kNotStun);
  auto top_bits = msg;
  top_bits[0] = 0x40;
  CHECK(StunMessage::parse(top_bits, m) == StunParseStatus::kNotStun);
  auto long_length = msg;
  long_length[3] = 0x5C;  // claims 4 more bytes than present
  CHECK(StunMessage::parse(long_length, m) == StunParseStatus::kBadLength);
  auto odd_length = msg;
  odd_length[3] = 0x57;
  CHECK(StunMessage::parse(odd_length, m) == StunParseStatus::kBadLength);
  auto overrun = msg;
  overrun[20 + 3] = 0x60;  // SOFTWARE length beyond the message
  CHECK(StunMessage::parse(overrun, m) == StunParseStatus::kBadAttribute);
  auto fingerprint_not_last =
      from_hex("000100102112a442000000000000000000000000 8028000400000000 0024000400000000");
  CHECK(StunMessage::parse(fingerprint_not_last, m) == StunParseStatus::kBadFingerprint);
  auto tampered = msg;
  tampered[30] ^= 1;  // inside SOFTWARE
  REQUIRE(StunMessage::parse(tampered, m) == StunParseStatus::kOk);
  CHECK(verify_fingerprint(m) == CheckResult::kInvalid);
  CHECK(verify_message_integrity(m, as_bytes(kShortTermPassword)) == CheckResult::kInvalid);
}

TEST_CASE("attributes after MESSAGE-INTEGRITY are ignored except FINGERPRINT", "[turn][stun]") {
  TransactionId id{};
  uint8_t buffer[256];
  StunMessageWriter w(buffer, 1, StunClass::kRequest, id);
  w.add_message_integrity(as_bytes("k"), IntegrityAlgorithm::kSha1);
  w.add_text(attr::kUsername, "smuggled");
  w.add_fingerprint();
  StunMessage m;
  REQUIRE(StunMessage::parse(w.bytes(), m) == StunParseStatus::kOk);
  CHECK(m.find(attr::kUsername) == nullptr);
  CHECK(m.find(attr::kFingerprint) != nullptr);
}

TEST_CASE("writer refuses to overflow its buffer", "[turn][stun]") {
  TransactionId id{};
  uint8_t buffer[28];
  StunMessageWriter w(buffer, 1, StunClass::kRequest, id);
  w.add_u32(attr::kLifetime, 1);
  CHECK(w.ok());
  w.add_u32(attr::kLifetime, 2);
  CHECK_FALSE(w.ok());
  CHECK(w.bytes().size() == 28);
}
