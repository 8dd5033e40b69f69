// TLS set-up for the public listener: TLS 1.2+ with forward-secret AEAD suites only, buffers
// released on idle connections. When no certificate is configured, a self-signed one
// (ECDSA P-256, SANs for localhost, 127.0.0.1, ::1 and the backend domain) is generated once
// into the data directory and reused on later starts.
//
// Certificates are replaceable while serving (SIGHUP after a certbot renewal):
// reload_certificates() re-reads the files of every server context configured here, and each
// new handshake picks the current certificate; established connections keep theirs.
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
// cannot be loaded. The context joins the process-wide set that reload_certificates() refreshes
// and leaves it when it is destroyed.
void configure_server_context(boost::asio::ssl::context& ctx, const CertPaths& paths);

// Answers ALPN from `protocols` (wire format: length-prefixed names, in order of preference):
// the first of them the client offers; a client offering none goes on without ALPN. The
// string must outlive the context.
void select_alpn_from(boost::asio::ssl::context& ctx, const std::string& protocols);

// Re-reads certificate chain and key of every live server context from its files. A context
// whose files cannot be loaded (missing, unparsable, key not matching) keeps serving its
// current certificate; the error names those files, the others are still reloaded. Returns
// how many contexts were reloaded. Thread-safe; handshakes in progress are not disturbed.
Result<int> reload_certificates();

}  // namespace wirebox::http
