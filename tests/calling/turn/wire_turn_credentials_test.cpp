#include <catch2/catch.hpp>

#include "calling/turn/nonce_issuer.h"
#include "calling/turn/wire_turn_credentials.h"
#include "core/encoding.h"

using namespace wirebox::turn;

TEST_CASE("Wire TURN usernames parse strictly", "[turn][credentials]") {
  auto u = parse_wire_turn_username("d=1700000000.v=1.k=2.t=s.r=abc123");
  REQUIRE(u);
  CHECK(u->expires_at == 1700000000);
  CHECK(u->key_index == 2);
  CHECK(u->random == "abc123");
  CHECK(make_wire_turn_username(1700000000, 2, "abc123") == "d=1700000000.v=1.k=2.t=s.r=abc123");
  for (const char* bad : {"", "d=1.v=2.k=0.t=s.r=a", "d=.v=1.k=0.t=s.r=a", "d=1.v=1.k=0.t=s.r=", "d=1.v=1.k=0.t=s.r=A",
                          "d=1.v=1.k=0.t=x.r=a", "1700000000:user", "d=1.v=1.k=0.t=s.r=a.extra",
                          "d=99999999999999999999.v=1.k=0.t=s.r=a"})
    CHECK_FALSE(parse_wire_turn_username(bad));
}

TEST_CASE("Wire TURN password is base64(HMAC-SHA512(secret, username))", "[turn][credentials]") {
  // Reference value: printf %s 'd=1.v=1.k=0.t=s.r=x' | openssl dgst -sha512 -hmac secret -binary | base64 -w0
  std::string password = wire_turn_password("secret", "d=1.v=1.k=0.t=s.r=x");
  CHECK(password.size() == 88);
  CHECK(wirebox::base64_decode(password)->size() == 64);
  CHECK(password == "PBxu7oz2NoXYxzK/XQH5AHkjS7Tra2Y3lirV3HDFikZ66AiIPa22BCdihECze1Bf/XrtmYWyJK2knJsZzit6mw==");
  CHECK(wire_turn_password("other", "d=1.v=1.k=0.t=s.r=x") != password);
}

TEST_CASE("nonces are checked statelessly and go stale", "[turn][credentials]") {
  NonceIssuer issuer("key", 60'000);
  std::string nonce = issuer.issue(1'000'000);
  CHECK(nonce.size() == 32);
  CHECK(issuer.check(nonce, 1'000'000) == NonceIssuer::Validity::kValid);
  CHECK(issuer.check(nonce, 1'060'000) == NonceIssuer::Validity::kValid);
  CHECK(issuer.check(nonce, 1'060'001) == NonceIssuer::Validity::kStale);
  CHECK(NonceIssuer("other", 60'000).check(nonce, 1'000'000) == NonceIssuer::Validity::kInvalid);
  std::string forged = nonce;
  forged[15] = forged[15] == '0' ? '1' : '0';
  CHECK(issuer.check(forged, 1'000'000) == NonceIssuer::Validity::kInvalid);
  CHECK(issuer.check("short", 0) == NonceIssuer::Validity::kInvalid);
}
