#include "core/email.h"

namespace wirebox {
namespace {

bool is_atom_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_domain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// Non-empty parts separated by single dots, each made of `ok` characters.
template <class Ok>
bool dotted(std::string_view s, Ok ok) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char previous = 0;
  for (char c : s) {
    if (c == '.' ? previous == '.' : !ok(c)) return false;
    previous = c;
  }
  return true;
}

}  // namespace

bool is_valid_email(std::string_view address) {
  if (address.size() > 254) return false;
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string_view local = address.substr(0, at), domain = address.substr(at + 1);
  return local.size() <= 64 && dotted(local, is_atom_char) && dotted(domain, is_domain_char);
}

}  // namespace wirebox
