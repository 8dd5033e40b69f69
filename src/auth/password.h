// Password hashing with scrypt (OpenSSL EVP_KDF). Stored form:
// "scrypt$<log2 N>$<r>$<p>$<base64 salt>$<base64 hash>", so the cost can rise later and old
// hashes still verify. Thread-safe. Hashing is deliberately slow: call it off the I/O loops.
#pragma once

#include <string>
#include <string_view>

namespace wirebox::auth {

std::string hash_password(std::string_view password, int log2_n = 15);
bool verify_password(std::string_view password, std::string_view stored);

}  // namespace wirebox::auth
