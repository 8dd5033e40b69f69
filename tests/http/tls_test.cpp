#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <boost/asio/ssl/context.hpp>
#include <catch2/catch.hpp>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "http/tls.h"
#include "support/peer_certificate.h"
#include "support/temp_dir.h"
#include "support/test_server.h"
#include "support/tls_client.h"

using namespace wirebox;
using Catch::Matchers::Contains;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::unique_ptr<X509, decltype(&X509_free)> load_cert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  REQUIRE(f);
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  REQUIRE(x);
  return {x, X509_free};
}

void copy_over(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace

TEST_CASE("ensure_self_signed creates a usable certificate once", "[tls]") {
  test::TempDir dir;
  std::string tls_dir = dir.file("data/tls");  // parent directories are created
  auto p = http::ensure_self_signed(tls_dir, {"chat.example.com", "localhost", "127.0.0.1", "::1"});
  REQUIRE(p.ok());
  CHECK(p->cert_file == tls_dir + "/cert.pem");
  CHECK(p->key_file == tls_dir + "/key.pem");

  struct stat st {};
  REQUIRE(stat(p->key_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // the private key is not readable by others
  CHECK_FALSE(std::filesystem::exists(p->key_file + ".tmp"));
  CHECK_FALSE(std::filesystem::exists(p->cert_file + ".tmp"));

  auto cert = load_cert(p->cert_file);
  CHECK(X509_check_host(cert.get(), "chat.example.com", 0, 0, nullptr) == 1);
  CHECK(X509_check_host(cert.get(), "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_check_ip_asc(cert.get(), "127.0.0.1", 0) == 1);
  CHECK(X509_check_ip_asc(cert.get(), "::1", 0) == 1);
  CHECK(X509_check_host(cert.get(), "other.example.com", 0, 0, nullptr) != 1);
  CHECK(X509_cmp_current_time(X509_get0_notBefore(cert.get())) < 0);
  CHECK(X509_cmp_current_time(X509_get0_notAfter(cert.get())) > 0);

  boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_server);
  CHECK_NOTHROW(http::configure_server_context(ctx, *p));

  // A second call reuses the files instead of minting a new identity on every start.
  std::string cert_pem = slurp(p->cert_file), key_pem = slurp(p->key_file);
  auto again = http::ensure_self_signed(tls_dir, {"chat.example.com"});
  REQUIRE(again.ok());
  CHECK(slurp(again->cert_file) == cert_pem);
  CHECK(slurp(again->key_file) == key_pem);
}

TEST_CASE("configure_server_context reports unusable files", "[tls]") {
  test::TempDir dir;
  auto a = http::ensure_self_signed(dir.file("a"), {"localhost"});
  auto b = http::ensure_self_signed(dir.file("b"), {"localhost"});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_server);

  SECTION("missing certificate") {
    CHECK_THROWS_WITH(http::configure_server_context(ctx, {dir.file("nope.pem"), a->key_file}),
                      Contains("cannot load certificate") && Contains("nope.pem"));
  }
  SECTION("missing key") {
    CHECK_THROWS_WITH(http::configure_server_context(ctx, {a->cert_file, dir.file("nokey.pem")}),
                      Contains("cannot load private key"));
  }
  SECTION("key of another certificate") {
    // OpenSSL may already refuse the key while loading it, or only at the final check.
    CHECK_THROWS_WITH(http::configure_server_context(ctx, {a->cert_file, b->key_file}),
                      Contains("private key") && Contains(b->key_file) || Contains("does not match"));
  }
}

TEST_CASE("reload_certificates: new handshakes get the replaced certificate, open connections stay", "[tls]") {
  test::TempDir dir;
  auto a = http::ensure_self_signed(dir.file("a"), {"a.example.com", "127.0.0.1"});
  auto b = http::ensure_self_signed(dir.file("b"), {"b.example.com", "127.0.0.1"});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  // The server reads the files certbot would replace in place.
  http::CertPaths live{dir.file("live-cert.pem"), dir.file("live-key.pem")};
  copy_over(a->cert_file, live.cert_file);
  copy_over(a->key_file, live.key_file);

  http::Router router;
  router.add(http::Verb::get, "/ping", http::Access::kPublic,
             [](http::Request&) { return http::json_response(200, {{"pong", true}}); }, http::Exec::kInline);
  auto options = test::TestServer::default_options();
  options.tls = live;
  test::TestServer srv(router, options);
  CHECK(test::presented_common_name(srv.port()) == "a.example.com");
  test::HttpsClient established(srv.port());
  REQUIRE(established.get("/ping").status == 200);

  copy_over(b->cert_file, live.cert_file);
  copy_over(b->key_file, live.key_file);
  CHECK(test::presented_common_name(srv.port()) == "a.example.com");  // nothing re-read without a reload
  auto reloaded = http::reload_certificates();
  REQUIRE(reloaded.ok());
  CHECK(*reloaded >= 1);
  CHECK(test::presented_common_name(srv.port()) == "b.example.com");
  CHECK(test::presented_common_name(srv.port(), TLS1_2_VERSION) == "b.example.com");
  CHECK(established.get("/ping").status == 200);  // the connection made before the reload keeps working

  SECTION("unusable files keep the current certificate and name the file") {
    test::write_file(live.cert_file, "not a certificate\n");
    auto failed = http::reload_certificates();
    REQUIRE_FALSE(failed.ok());
    CHECK_THAT(failed.error().message, Contains(live.cert_file) && Contains("kept the previous certificate"));
    CHECK(test::presented_common_name(srv.port()) == "b.example.com");
  }
  SECTION("a key of another certificate is refused") {
    copy_over(a->key_file, live.key_file);
    auto failed = http::reload_certificates();
    REQUIRE_FALSE(failed.ok());
    CHECK_THAT(failed.error().message, Contains("does not match"));
    CHECK(test::presented_common_name(srv.port()) == "b.example.com");
  }
}
