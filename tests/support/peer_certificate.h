// Which certificate a TLS listener presents: one handshake with 127.0.0.1:port (socket
// operations time out after 5 s), nothing sent after it. For certificate reload tests.
#pragma once

#include <cstdint>
#include <string>

namespace wirebox::test {

// Common name of the server certificate; max_tls_version (TLS1_2_VERSION, ...) 0 = any.
// Throws std::runtime_error if the connection or handshake fails.
std::string presented_common_name(uint16_t port, int max_tls_version = 0);

}  // namespace wirebox::test
