#include <catch2/catch.hpp>

#include "auth/password.h"

using namespace wirebox::auth;

TEST_CASE("password hashes verify only the right password") {
  std::string h = hash_password("correct horse", 10);
  CHECK(h.rfind("scrypt$10$8$1$", 0) == 0);
  CHECK(verify_password("correct horse", h));
  CHECK_FALSE(verify_password("correct hors", h));
  CHECK_FALSE(verify_password("", h));
}

TEST_CASE("hashes are salted") { CHECK(hash_password("same", 10) != hash_password("same", 10)); }

TEST_CASE("the cost is read from the stored hash, so old hashes keep verifying") {
  std::string cheap = hash_password("pw", 10);
  std::string dear = hash_password("pw", 12);
  CHECK(verify_password("pw", cheap));
  CHECK(verify_password("pw", dear));
}

TEST_CASE("malformed stored hashes never verify") {
  for (std::string bad : {"", "scrypt", "bcrypt$10$8$1$AAAA$AAAA", "scrypt$99$8$1$AAAA$AAAA", "scrypt$x$8$1$AAAA$AAAA",
                          "scrypt$10$8$1$!!$AAAA", "scrypt$10$0$1$AAAA$AAAA"})
    CHECK_FALSE(verify_password("pw", bad));
}
