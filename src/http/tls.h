// TLS set-up for the public listener: TLS 1.2+ with forward-secret AEAD suites only, buffers
// released on idle connections. When no certificate is configured, a self-signed one
// (ECDSA P-256, SANs for localhost, 127.0.0.1, ::1 and the backend domain) is generated once
// into the data directory and reused on later starts.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "core/api_error.h"

namespace wirebox::http {

struct CertPaths {
  std::string cert_file;
  std::string key_file;
};

// Creates dir/cert.pem and dir/key.pem (key 0600) unless both exist. Returns their paths.
Result<CertPaths> ensure_self_signed(const std::string& dir, const std::vector<std::string>& hostnames);

// Builds the server context; throws std::runtime_error with a clear message if the files
// cannot be loaded.
void configure_server_context(boost::asio::ssl::context& ctx, const CertPaths& paths);

}  // namespace wirebox::http
