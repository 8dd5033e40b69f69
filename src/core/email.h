// E-mail addresses as accounts and invitations take them: an ASCII addr-spec (RFC 5321
// dot-atom local part, dotted domain of letters, digits and hyphens), at most 254 characters.
// Like wire-server, no internationalised addresses: they would need Unicode folding to be
// compared, and without it "Ä@x" and "ä@x", or an address with an invisible character, would be
// different accounts that look the same. Pure function.
#pragma once

#include <string_view>

namespace wirebox {

bool is_valid_email(std::string_view address);

}  // namespace wirebox
