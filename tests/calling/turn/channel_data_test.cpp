#include <catch2/catch.hpp>

#include "calling/turn/channel_data.h"
#include "hex.h"

using namespace wirebox::turn;
using wirebox::turn::test::from_hex;

TEST_CASE("channel numbers 0x4000-0x7FFF only", "[turn][channel]") {
  CHECK_FALSE(valid_channel_number(0x3FFF));
  CHECK(valid_channel_number(0x4000));
  CHECK(valid_channel_number(0x4FFF));
  CHECK(valid_channel_number(0x7FFF));
  CHECK_FALSE(valid_channel_number(0x8000));
  CHECK_FALSE(valid_channel_number(0xFFFF));
}

TEST_CASE("ChannelData parse and header", "[turn][channel]") {
  auto msg = from_hex("40010003 616263 00");
  ChannelData cd;
  REQUIRE(parse_channel_data(msg, cd) == ChannelDataStatus::kOk);
  CHECK(cd.channel == 0x4001);
  CHECK(cd.data.size() == 3);
  CHECK(cd.data[2] == 'c');
  CHECK(parse_channel_data(std::span(msg).first(3), cd) == ChannelDataStatus::kTooShort);
  CHECK(parse_channel_data(std::span(msg).first(6), cd) == ChannelDataStatus::kTruncated);
  auto reserved = from_hex("80000000");
  CHECK(parse_channel_data(reserved, cd) == ChannelDataStatus::kBadChannel);
  uint8_t header[4];
  write_channel_data_header(header, 0x4FFF, 1200);
  CHECK(header[0] == 0x4F);
  CHECK(header[1] == 0xFF);
  CHECK(header[2] == 0x04);
  CHECK(header[3] == 0xB0);
}

TEST_CASE("stream framing splits STUN and padded ChannelData", "[turn][channel]") {
  auto stream = from_hex("40010003 61626300 000100002112a442 000000000000000000000000");
  CHECK(stream_frame_size(stream) == 8);  // ChannelData padded to 4 over TCP
  auto rest = std::span<const uint8_t>(stream).subspan(8);
  CHECK(stream_frame_size(rest) == 20);
  CHECK(stream_frame_size(rest.first(19)) == 0);  // need more
  CHECK(stream_frame_size(std::span<const uint8_t>(stream).first(7)) == 0);
  auto garbage = from_hex("ff000000");
  CHECK(stream_frame_size(garbage) == kFramingError);
  auto bad_cookie = from_hex("0001000012345678");
  CHECK(stream_frame_size(bad_cookie) == kFramingError);
}
