// Byte encodings used on the wire: base64 (standard and URL-safe), hex, and SHA-256.
// Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wirebox {

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);  // nullopt on invalid input
std::string base64url_encode(std::string_view bytes);              // no padding
std::optional<std::string> base64url_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);
std::string sha256(std::string_view bytes);  // raw 32 bytes
std::string random_bytes(size_t n);          // CSPRNG (OpenSSL RAND_bytes); aborts if it fails

}  // namespace wirebox
