#include <catch2/catch.hpp>

#include "messages/otr_message.h"

using namespace wirebox::messages;

namespace {

OtrMessage sample() {
  OtrMessage m;
  m.sender_client = "a1b2";
  m.recipients = {{"d.example", "0a000000-0000-4000-8000-000000000001", "ff", std::string("\x00\x01\x02", 3)},
                  {"d.example", "0a000000-0000-4000-8000-000000000001", "1", "two"},
                  {"d.example", "0a000000-0000-4000-8000-000000000002", "abcdef0123456789", "three"}};
  m.blob = std::string("blob\0bytes", 10);
  m.strategy = MismatchStrategy::kIgnoreOnly;
  m.strategy_users = {{"0a000000-0000-4000-8000-000000000002", "d.example"}};
  return m;
}

}  // namespace

TEST_CASE("a message round-trips through the protobuf envelope") {
  auto decoded = decode_otr_message(encode_otr_message(sample()));
  REQUIRE(decoded.ok());
  CHECK(decoded->sender_client == "a1b2");
  REQUIRE(decoded->recipients.size() == 3);
  CHECK(decoded->recipients[0].ciphertext == std::string("\x00\x01\x02", 3));
  CHECK(decoded->recipients[2].client_id == "abcdef0123456789");
  CHECK(decoded->recipients[2].user_id == "0a000000-0000-4000-8000-000000000002");
  CHECK(*decoded->blob == std::string("blob\0bytes", 10));
  CHECK(decoded->strategy == MismatchStrategy::kIgnoreOnly);
  CHECK(decoded->strategy_users.size() == 1);
}

TEST_CASE("client ids render canonically (the client parses them back as uint64)") {
  CHECK(client_id_text(0xb17) == "b17");
  CHECK(client_id_text(0xffffffffffffffffULL) == "ffffffffffffffff");
  CHECK(client_id_text(1) == "1");
}

TEST_CASE("garbage, truncated and strategy-less messages are 400") {
  std::string good = encode_otr_message(sample());
  CHECK(decode_otr_message("\xff\xff\xff garbage").error().code == 400);
  CHECK(decode_otr_message(good.substr(0, good.size() / 2)).error().code == 400);
  CHECK(decode_otr_message("").error().code == 400);  // sender is required
  // The same message without a strategy: field 10 (ignore_only) is the last one written.
  OtrMessage m = sample();
  m.strategy = MismatchStrategy::kReportAll;
  m.strategy_users.clear();
  std::string with_report_all = encode_otr_message(m);
  // report_all is encoded as the 2 trailing bytes 0x3a 0x00; drop them.
  REQUIRE(with_report_all.substr(with_report_all.size() - 2) == std::string("\x3a\x00", 2));
  auto none = decode_otr_message(with_report_all.substr(0, with_report_all.size() - 2));
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message == "ClientMismatchStrategy not specified!");
}

TEST_CASE("a recipient user id that is not 16 bytes is 400") {
  // Hand-built: sender{client=1}, recipients{domain="d", entries{user{uuid=3 bytes}}}, ignore_all.
  std::string bad("\x0a\x02\x08\x01\x12\x0c\x0a\x01" "d" "\x12\x07\x0a\x05\x0a\x03" "abc" "\x42\x00", 20);
  auto r = decode_otr_message(bad);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == 400);
}
