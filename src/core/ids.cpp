#include "core/ids.h"

#include <cctype>
#include <cstdint>
#include <cstring>

#include "core/encoding.h"

namespace wirebox {

std::string new_uuid_v4() {
  std::string b = random_bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  std::string hex = hex_encode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20, 12);
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> normalize_uuid(std::string_view s) {
  if (!is_uuid(s)) return std::nullopt;
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string new_client_id() {
  uint64_t v = 0;
  while (v == 0) {
    std::string b = random_bytes(8);
    std::memcpy(&v, b.data(), 8);
  }
  static const char* digits = "0123456789abcdef";
  std::string out;
  while (v) {
    out.insert(out.begin(), digits[v & 15]);
    v >>= 4;
  }
  return out;
}

bool is_client_id(std::string_view s) {
  if (s.empty() || s.size() > 16 || s[0] == '0') return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace wirebox
