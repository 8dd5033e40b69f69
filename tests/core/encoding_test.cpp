#include <string>

#include <catch2/catch.hpp>

#include "core/encoding.h"

using namespace wirebox;
using namespace std::string_literals;

namespace {

std::string bytes_0_to(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>((i * 37 + 11) & 0xff));
  return s;
}

}  // namespace

TEST_CASE("base64 matches the RFC 4648 test vectors", "[encoding]") {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},         {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CAPTURE(plain);
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == plain);
  }
}

TEST_CASE("base64 and base64url round-trip arbitrary bytes of every length", "[encoding]") {
  for (size_t n = 0; n <= 70; ++n) {
    CAPTURE(n);
    std::string b = bytes_0_to(n);
    std::string e = base64_encode(b);
    CHECK(e.size() == 4 * ((n + 2) / 3));
    CHECK(base64_decode(e) == b);
    std::string u = base64url_encode(b);
    CHECK(u.find_first_of("+/=") == std::string::npos);
    CHECK(base64url_decode(u) == b);
  }
  std::string r = random_bytes(4096);
  CHECK(base64_decode(base64_encode(r)) == r);
  CHECK(base64url_decode(base64url_encode(r)) == r);
}

TEST_CASE("base64url uses - and _ and no padding", "[encoding]") {
  CHECK(base64_encode("\xfb\xff"s) == "+/8=");
  CHECK(base64url_encode("\xfb\xff"s) == "-_8");
  CHECK(base64url_decode("-_8") == "\xfb\xff"s);
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_decode("Zg") == "f"s);
  CHECK(base64url_decode("") == ""s);
}

TEST_CASE("base64_decode rejects invalid input", "[encoding]") {
  const char* bad[] = {
      "Zg=",       // length not a multiple of 4
      "Zg",        // missing padding
      "Zm9v!A==",  // not in the alphabet
      "Zm 9",      // whitespace
      "Zm9v\n",    // newline
      "-_8=",      // URL alphabet
      "====",      // padding only
      "Z===",      // three padding characters
      "Zg=A",      // padding followed by data
      "Zg==Zm9v",  // padding in the middle
      "=Zm9",      // padding first
  };
  for (const char* s : bad) {
    CAPTURE(s);
    CHECK_FALSE(base64_decode(s).has_value());
  }
  CHECK_FALSE(base64_decode("Zm9v\0Zg="s).has_value());
}

TEST_CASE("base64url_decode rejects invalid input", "[encoding]") {
  const char* bad[] = {
      "Zg==",   // padding is not part of base64url
      "Zm+v",   // standard alphabet
      "Zm/v",
      "Z",      // a single leftover character encodes no byte
      "Zm9vY",  // 4n+1 characters
      "Zm 9",
      "Zm9v!",
  };
  for (const char* s : bad) {
    CAPTURE(s);
    CHECK_FALSE(base64url_decode(s).has_value());
  }
}

TEST_CASE("hex_encode and sha256", "[encoding]") {
  CHECK(hex_encode("") == "");
  CHECK(hex_encode("\x00\x01\x7f\x80\xff"s) == "00017f80ff");
  CHECK(hex_encode(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex_encode(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256("abc").size() == 32);
}

TEST_CASE("random_bytes returns the requested number of bytes, differently each time", "[encoding]") {
  CHECK(random_bytes(0).empty());
  CHECK(random_bytes(1).size() == 1);
  std::string a = random_bytes(32), b = random_bytes(32);
  CHECK(a.size() == 32);
  CHECK(a != b);
}
