#include <catch2/catch.hpp>

#include "auth/token_signer.h"
#include "core/encoding.h"
#include "support/temp_dir.h"

using namespace wirebox;
using namespace wirebox::auth;

TEST_CASE("a signed token verifies and carries its claims") {
  auto signer = TokenSigner::generate();
  std::string token = signer->sign({"u-1", "abc", 2000});
  auto claims = signer->verify(token, 1000);
  REQUIRE(claims.ok());
  CHECK(claims->user_id == "u-1");
  CHECK(claims->client_id == "abc");
  CHECK(claims->expires_at == 2000);
  // URL-safe: it travels in the WebSocket query string.
  CHECK(token.find_first_of("+/=&? ") == std::string::npos);
}

TEST_CASE("expired tokens are rejected with 401 Token expired") {
  auto signer = TokenSigner::generate();
  auto r = signer->verify(signer->sign({"u", "", 1000}), 1000);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == 401);
  CHECK(r.error().message == "Token expired");
}

TEST_CASE("forged and malformed tokens are rejected with 401") {
  auto signer = TokenSigner::generate();
  auto other = TokenSigner::generate();
  std::string token = signer->sign({"victim", "", 5000});
  SECTION("signed by another key") { CHECK(signer->verify(other->sign({"victim", "", 5000}), 1).error().code == 401); }
  SECTION("claims changed after signing") {
    std::string forged = base64url_encode("v=1;u=attacker;c=;e=5000") + token.substr(token.find('.'));
    CHECK(signer->verify(forged, 1).error().code == 401);
  }
  SECTION("expiry extended after signing") {
    std::string forged = base64url_encode("v=1;u=victim;c=;e=99999999") + token.substr(token.find('.'));
    CHECK(signer->verify(forged, 1).error().code == 401);
  }
  SECTION("garbage") {
    for (const std::string& g : std::vector<std::string>{"", ".", "abc", "abc.def", std::string(2000, 'a') + ".b", token + "x"})
      CHECK(signer->verify(g, 1).error().code == 401);
  }
}

TEST_CASE("the signing key persists across restarts and is private") {
  test::TempDir dir;
  std::string path = dir.file("key.pem");
  auto a = TokenSigner::load_or_create(path);
  REQUIRE(a.ok());
  std::string token = a.value()->sign({"u", "", 5000});
  auto b = TokenSigner::load_or_create(path);
  REQUIRE(b.ok());
  CHECK(b.value()->verify(token, 1).ok());
  CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::group_all) ==
        std::filesystem::perms::none);
}

TEST_CASE("a cached token still expires and never vouches for another signer's tokens") {
  auto signer = TokenSigner::generate();
  auto other = TokenSigner::generate();
  std::string token = signer->sign({"u", "c", 2000});
  REQUIRE(signer->verify(token, 1000).ok());  // now cached
  CHECK(signer->verify(token, 1500)->client_id == "c");
  CHECK(signer->verify(token, 2000).error().message == "Token expired");
  CHECK(other->verify(token, 1000).error().code == 401);
  std::string tampered = token;
  char& c = tampered[tampered.size() - 10];  // inside the signature, not in its padding bits
  c = c == 'A' ? 'B' : 'A';
  CHECK(signer->verify(tampered, 1000).error().code == 401);
}
