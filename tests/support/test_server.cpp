#include "support/test_server.h"

#include <stdexcept>

#include "http/tls.h"

namespace wirebox::test {

http::ServerOptions TestServer::default_options() {
  http::ServerOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.loops = 1;
  o.workers = 2;
  return o;
}

TestServer::TestServer(const http::Router& router, http::ServerOptions options) : options_(std::move(options)) {
  if (options_.tls.cert_file.empty()) {
    auto paths = http::ensure_self_signed(dir_.file("tls"), {"localhost", "127.0.0.1", "::1"});
    if (!paths) throw std::runtime_error("self-signed certificate: " + paths.error().message);
    options_.tls = *paths;
  }
  server_ = std::make_unique<http::Server>(options_, router);
  server_->start();
}

TestServer::~TestServer() { server_->stop(); }

}  // namespace wirebox::test
