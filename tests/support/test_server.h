// TestServer: an http::Server on 127.0.0.1 with an ephemeral port and a self-signed
// certificate generated into its own temp dir, stopped on destruction. For handler tests:
//
//   http::Router router;  register_my_routes(router, ...);
//   test::TestServer srv(router);
//   test::HttpsClient c(srv.port());
#pragma once

#include <cstdint>
#include <memory>

#include "http/router.h"
#include "http/server.h"
#include "support/temp_dir.h"

namespace wirebox::test {

class TestServer {
 public:
  // Small footprint: 1 loop, 2 workers, loopback, port 0 (unless options say otherwise).
  static http::ServerOptions default_options();

  // Fills options.tls with a fresh self-signed certificate when it has no cert_file, then starts.
  // The router must outlive the server. Throws std::runtime_error if it cannot start.
  explicit TestServer(const http::Router& router, http::ServerOptions options = default_options());
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const { return server_->port(); }
  uint16_t metrics_port() const { return server_->metrics_port(); }
  http::Server& server() { return *server_; }
  const http::ServerOptions& options() const { return options_; }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  http::ServerOptions options_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace wirebox::test
