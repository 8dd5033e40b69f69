#include <catch2/catch.hpp>

#include <string>

#include "core/email.h"

using wirebox::is_valid_email;

TEST_CASE("e-mail addresses: ASCII addr-specs only") {
  for (const char* ok : {"alice@example.com", "a@x", "first.last+tag@mail.example.co.uk", "o'brien@ex-ample.org",
                         "UPPER@Example.COM", "x_y{z}~@a-b.c"})
    CHECK(is_valid_email(ok));
  for (const std::string& bad :
       {std::string("no-at-sign"), std::string("@example.com"), std::string("alice@"), std::string("a@b@c"),
        std::string("a b@example.com"), std::string(".a@example.com"), std::string("a.@example.com"),
        std::string("a..b@example.com"), std::string("a@example..com"), std::string("a@.example.com"),
        std::string("<script>x@example.com"), std::string("a@exa_mple.com"),
        std::string("nul\0byte@example.com", 20),       // a NUL stored as part of the address
        std::string("zero\u200Bwidth@example.com"),     // invisible: looks like another account
        std::string("\xC3\xA4@example.com"),            // non-ASCII: needs folding to compare
        std::string("tab\t@example.com"), std::string(65, 'a') + "@example.com",
        std::string("a@") + std::string(253, 'b')})
    CHECK_FALSE(is_valid_email(bad));
}
