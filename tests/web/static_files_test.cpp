// The box's web pages: / is the start page, /web/{file} the other files of web_root, and
// nothing else on disk is reachable (dot files, symlinks, directories, traversal).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"
#include "support/test_server.h"
#include "support/tls_client.h"
#include "web/static_files.h"

using namespace wirebox;
namespace fs = std::filesystem;

namespace {

void write_file(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

}  // namespace

TEST_CASE("GET / is index.html and /web/{file} the other pages, with their types", "[web]") {
  test::TempDir dir;
  write_file(dir.path() + "/index.html", "<!DOCTYPE html><title>box</title>");
  write_file(dir.path() + "/style.css", "body{}");
  write_file(dir.path() + "/app.js", "1");
  http::Router router;
  web::register_routes(router, dir.path());
  test::TestServer srv(router);
  test::HttpsClient c(srv.port());

  auto index = c.get("/");
  REQUIRE(index.status == 200);
  CHECK(index.body == "<!DOCTYPE html><title>box</title>");
  CHECK(index.header("Content-Type") == "text/html; charset=utf-8");
  CHECK(index.header("Cache-Control") == "no-cache");
  auto css = c.get("/web/style.css");
  CHECK(css.status == 200);
  CHECK(css.body == "body{}");
  CHECK(css.header("Content-Type") == "text/css; charset=utf-8");
  CHECK(c.get("/web/app.js").header("Content-Type") == "text/javascript; charset=utf-8");
  CHECK(c.get("/web/index.html").body == index.body);

  // HEAD gets the GET answer's headers (it used to be 405), and no body.
  auto head = c.request("HEAD", "/web/style.css");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.header("Content-Type") == "text/css; charset=utf-8");
  CHECK(head.header("Content-Length") == "6");

  // A FIFO is not a page, and asking for it must not hold a server thread until a writer comes.
  REQUIRE(::mkfifo((dir.path() + "/pipe.txt").c_str(), 0600) == 0);
  CHECK(c.get("/web/pipe.txt").status == 404);

  // Edits show without a restart.
  write_file(dir.path() + "/index.html", "v2");
  CHECK(c.get("/").body == "v2");
}

TEST_CASE("nothing outside web_root, no dot files, symlinks or directories", "[web]") {
  test::TempDir dir;
  test::TempDir outside;
  write_file(outside.path() + "/secret.txt", "secret");
  write_file(dir.path() + "/.hidden", "hidden");
  fs::create_directory(dir.path() + "/sub");
  write_file(dir.path() + "/sub/page.html", "nested");
  REQUIRE(::symlink((outside.path() + "/secret.txt").c_str(), (dir.path() + "/link.txt").c_str()) == 0);
  http::Router router;
  web::register_routes(router, dir.path());
  test::TestServer srv(router);
  test::HttpsClient c(srv.port());

  for (const char* path : {"/web/.hidden", "/web/link.txt", "/web/sub", "/web/sub/page.html", "/web/..%2Fsecret.txt",
                           "/web/%2e%2e", "/web/missing.html", "/"}) {
    auto r = c.get(path);
    INFO(path);
    CHECK(r.status == 404);
    CHECK(r.body.find("secret") == std::string::npos);
  }
  CHECK(c.get("/web/.hidden").json()["label"] == "not-found");
}

TEST_CASE("an empty or missing web_root serves nothing", "[web]") {
  for (std::string root : {std::string(), std::string("/nonexistent/wirebox-web")}) {
    http::Router router;
    web::register_routes(router, root);
    test::TestServer srv(router);
    test::HttpsClient c(srv.port());
    CHECK(c.get("/").status == 404);
  }
}

TEST_CASE("servable names and content types", "[web]") {
  CHECK(web::is_servable_name("index.html"));
  CHECK(web::is_servable_name("logo-2_x.svg"));
  CHECK_FALSE(web::is_servable_name(""));
  CHECK_FALSE(web::is_servable_name(".env"));
  CHECK_FALSE(web::is_servable_name(".."));
  CHECK_FALSE(web::is_servable_name("a/b"));
  CHECK_FALSE(web::is_servable_name("a\\b"));
  CHECK_FALSE(web::is_servable_name(std::string(129, 'a')));
  CHECK(web::content_type_for("x.png") == "image/png");
  CHECK(web::content_type_for("x.tar") == "application/octet-stream");
}
