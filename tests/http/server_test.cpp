// In-process end-to-end tests: a real http::Server on 127.0.0.1 (ephemeral port, self-signed
// certificate) driven by the Beast TLS client from tests/support.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/ssl.h>

#include "http/gzip.h"
#include "http/router.h"
#include "http/server.h"
#include "support/temp_dir.h"
#include "support/test_server.h"
#include "support/tls_client.h"

using namespace wirebox;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using http::Access;
using http::Exec;
using http::Request;
using http::Response;
using http::Verb;
using test::HttpsClient;

namespace {

constexpr size_t kMaxBody = 4096;
const char* const kAllowedOrigin = "https://app.example.com";

std::string this_thread_id() {
  std::ostringstream s;
  s << std::this_thread::get_id();
  return s.str();
}

// Polls cond until it holds or timeout passes; no fixed sleeps.
template <class Cond>
bool eventually(Cond cond, std::chrono::milliseconds timeout = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

struct Fixture {
  http::Router router;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> waiting{false};
  std::unique_ptr<test::TestServer> server;

  explicit Fixture(http::ServerOptions options = default_options()) {
    router.add(Verb::get, "/ping", Access::kPublic, [](Request& r) {
      return http::json_response(200, {{"pong", true}, {"version", r.api_version}});
    }, Exec::kInline);
    router.add(Verb::post, "/echo", Access::kPublic, [](Request& r) {
      auto j = r.json_object();
      if (!j) return http::error_response(j.error());
      return http::json_response(200, {{"body", r.body}, {"json", j.value()}, {"path", r.path}});
    });
    router.add(Verb::get, "/thread/inline", Access::kPublic, [](Request&) {
      return http::json_response(200, {{"thread", this_thread_id()}});
    }, Exec::kInline);
    router.add(Verb::get, "/thread/blocking", Access::kPublic, [](Request&) {
      return http::json_response(200, {{"thread", this_thread_id()}});
    }, Exec::kBlocking);
    // Blocks its worker until /release is served (or 5 s pass).
    router.add(Verb::get, "/wait", Access::kPublic, [this](Request&) {
      waiting = true;
      bool ok = released.wait_for(5s) == std::future_status::ready;
      return http::json_response(200, {{"released", ok}});
    }, Exec::kBlocking);
    router.add(Verb::get, "/release", Access::kPublic, [this](Request&) {
      release.set_value();
      return http::empty_response(204);
    }, Exec::kInline);
    router.add(Verb::get, "/throw", Access::kPublic, [](Request&) -> Response {
      throw std::runtime_error("boom");
    });
    router.add(Verb::get, "/bad-204", Access::kPublic, [](Request&) {
      return http::json_response(204, nullptr);  // a body ("null") on a 204
    }, Exec::kInline);
    router.add(Verb::get, "/self", Access::kUser, [](Request& r) {
      return http::json_response(200, {{"id", r.identity.user_id}});
    });
    router.set_token_verifier([](std::string_view token) -> Result<http::Identity> {
      if (token == "valid") return http::Identity{"u1", ""};
      return ApiError::unauthorized("Invalid token");
    });
    server = std::make_unique<test::TestServer>(router, std::move(options));
  }

  static http::ServerOptions default_options() {
    auto o = test::TestServer::default_options();
    o.max_body_bytes = kMaxBody;
    o.cors_origins = {kAllowedOrigin};
    o.metrics_address = "127.0.0.1";
    o.metrics_port = 0;
    return o;
  }

  uint16_t port() const { return server->port(); }
};

void check_error_json(const test::HttpResponse& r, int code) {
  CHECK(r.status == code);
  CHECK_THAT(r.header("Content-Type"), Contains("application/json"));
  auto j = r.json();
  REQUIRE(j.is_object());
  CHECK(j.size() == 3);
  CHECK(j["code"] == code);
  CHECK(j["label"].is_string());
  CHECK_FALSE(j["label"].get<std::string>().empty());
  CHECK(j["message"].is_string());
}

}  // namespace

TEST_CASE("keep-alive: several requests on one connection", "[server]") {
  Fixture f;
  HttpsClient c(f.port());
  uint16_t local = c.local_port();
  auto r1 = c.get("/v8/ping");
  auto r2 = c.get("/ping");
  auto r3 = c.post_json("/v8/echo", {{"a", 1}});
  CHECK(r1.status == 200);
  CHECK(r1.json() == nlohmann::json{{"pong", true}, {"version", 8}});
  CHECK(r2.json()["version"] == 0);
  CHECK(r3.status == 200);
  CHECK(r1.keep_alive);
  CHECK(r2.keep_alive);
  CHECK(c.is_open());
  CHECK(c.local_port() == local);  // never reconnected
  CHECK(r1.header("Server") == "wireboxd");

  SECTION("Connection: close is honoured") {
    auto r = c.request("GET", "/ping", "", {{"Connection", "close"}});
    CHECK(r.status == 200);
    CHECK_FALSE(r.keep_alive);
    CHECK_FALSE(c.is_open());
    CHECK_THROWS(c.get("/ping"));
  }
}

TEST_CASE("a gzip'd JSON body reaches the handler decompressed", "[server]") {
  Fixture f;
  HttpsClient c(f.port());
  nlohmann::json doc = {{"email", "alice@example.com"}, {"password", std::string(3000, 'p')}};
  std::string plain = doc.dump();
  REQUIRE(plain.size() < kMaxBody);
  auto r = c.request("POST", "/v8/echo", http::gzip(plain),
                     {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
  REQUIRE(r.status == 200);
  CHECK(r.json()["body"] == plain);
  CHECK(r.json()["json"] == doc);
  CHECK(r.json()["path"] == "/echo");
  // The connection stays usable.
  CHECK(c.get("/ping").status == 200);
}

TEST_CASE("body size limits answer 413 JSON", "[server]") {
  Fixture f;
  HttpsClient c(f.port());

  SECTION("a body of exactly the limit is accepted") {
    std::string body = "{\"x\":\"" + std::string(kMaxBody - 8, 'a') + "\"}";
    REQUIRE(body.size() == kMaxBody);
    CHECK(c.request("POST", "/echo", body).status == 200);
  }
  SECTION("an oversize plain body") {
    std::string body = "{\"x\":\"" + std::string(kMaxBody, 'a') + "\"}";
    auto r = c.request("POST", "/echo", body, {{"Origin", kAllowedOrigin}});
    check_error_json(r, 413);
    CHECK_FALSE(r.keep_alive);
    CHECK(r.header("Access-Control-Allow-Origin") == kAllowedOrigin);  // readable by the web app
  }
  SECTION("a gzip bomb: small on the wire, past the limit inflated") {
    std::string bomb = http::gzip(std::string(1 << 20, ' '));
    REQUIRE(bomb.size() < kMaxBody);
    auto r = c.request("POST", "/echo", bomb, {{"Content-Encoding", "gzip"}});
    check_error_json(r, 413);
    CHECK_FALSE(r.keep_alive);
  }
}

TEST_CASE("a corrupt gzip body is a 400 and keeps the connection", "[server]") {
  Fixture f;
  HttpsClient c(f.port());
  std::string gz = http::gzip(R"({"a":1})");
  SECTION("not gzip") {
    auto r = c.request("POST", "/echo", "{\"a\":1}", {{"Content-Encoding", "gzip"}});
    check_error_json(r, 400);
    CHECK(r.json()["label"] == "bad-request");
  }
  SECTION("truncated") {
    auto r = c.request("POST", "/echo", gz.substr(0, gz.size() - 4), {{"Content-Encoding", "gzip"}});
    check_error_json(r, 400);
  }
  CHECK(c.is_open());
  CHECK(c.get("/ping").status == 200);
}

TEST_CASE("an unsupported Content-Encoding is a 415", "[server]") {
  Fixture f;
  HttpsClient c(f.port());
  auto r = c.request("POST", "/echo", "{}", {{"Content-Encoding", "br"}});
  check_error_json(r, 415);
  CHECK(c.request("POST", "/echo", "{}", {{"Content-Encoding", "identity"}}).status == 200);
}

TEST_CASE("404, 405, 401 and 500 are JSON errors", "[server]") {
  Fixture f;
  HttpsClient c(f.port());
  auto not_found = c.get("/v8/nothing");
  check_error_json(not_found, 404);
  CHECK(not_found.json()["label"] == "no-endpoint");
  auto wrong_method = c.request("DELETE", "/ping");
  check_error_json(wrong_method, 405);
  auto unauthorized = c.get("/self");
  check_error_json(unauthorized, 401);
  CHECK(unauthorized.json()["label"] == "missing-auth");
  CHECK(c.get("/self", {{"Authorization", "Bearer valid"}}).json()["id"] == "u1");
  check_error_json(c.get("/self", {{"Authorization", "Bearer forged"}}), 401);
  auto crashed = c.get("/throw");
  check_error_json(crashed, 500);
  CHECK(crashed.json()["label"] == "server-error");
  CHECK(c.is_open());
  CHECK(c.get("/ping").status == 200);
}

TEST_CASE("HEAD answers carry no body, errors included, so keep-alive stays in step", "[server]") {
  Fixture f;
  HttpsClient c(f.port());
  // No HEAD route at /self (405: a user route's GET is not run for a HEAD) or /v8/nothing
  // (404): both errors carry JSON on a GET.
  for (int i = 0; i < 3; ++i) {
    auto refused = c.request("HEAD", "/self");
    CHECK(refused.status == 405);
    CHECK(refused.body.empty());
    CHECK(std::stoul(refused.header("Content-Length")) > 0);  // the length a GET would have
    CHECK(c.request("HEAD", "/v8/nothing").status == 404);
    // The next answer on the same connection is read intact.
    auto ping = c.get("/ping");
    REQUIRE(ping.status == 200);
    CHECK_FALSE(ping.body.empty());
  }
  CHECK(c.is_open());
}

TEST_CASE("malformed requests get a 400 or 431", "[server]") {
  Fixture f;
  HttpsClient c(f.port());
  SECTION("bad header line") {
    check_error_json(c.send_raw("GET /ping HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n"), 400);
  }
  SECTION("oversize headers") {
    auto r = c.request("GET", "/ping", "", {{"X-Big", std::string(20000, 'h')}});
    check_error_json(r, 431);
  }
}

TEST_CASE("a handler's body on a 204 is dropped instead of killing the server", "[server]") {
  Fixture f;
  HttpsClient c(f.port());
  auto r = c.get("/bad-204");
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  CHECK(c.get("/ping").status == 200);
}

TEST_CASE("CORS: allowed origins are echoed with credentials, others get nothing", "[server]") {
  Fixture f;
  HttpsClient c(f.port());
  SECTION("allowed") {
    auto r = c.get("/ping", {{"Origin", kAllowedOrigin}});
    CHECK(r.status == 200);
    CHECK(r.header("Access-Control-Allow-Origin") == kAllowedOrigin);
    CHECK(r.header("Access-Control-Allow-Credentials") == "true");
    CHECK_THAT(r.header("Vary"), Contains("Origin"));
    auto err = c.get("/nothing", {{"Origin", kAllowedOrigin}});  // errors too, so the app can read them
    CHECK(err.status == 404);
    CHECK(err.header("Access-Control-Allow-Origin") == kAllowedOrigin);
  }
  SECTION("disallowed") {
    for (const char* origin : {"https://evil.example.com", "https://app.example.com.evil.com", "null"}) {
      CAPTURE(origin);
      auto r = c.get("/ping", {{"Origin", origin}});
      CHECK(r.status == 200);
      CHECK_FALSE(r.has_header("Access-Control-Allow-Origin"));
      CHECK_FALSE(r.has_header("Access-Control-Allow-Credentials"));
    }
  }
  SECTION("no Origin") {
    auto r = c.get("/ping");
    CHECK_FALSE(r.has_header("Access-Control-Allow-Origin"));
  }
}

TEST_CASE("CORS: wildcard allows any origin, still echoed (never '*' with credentials)", "[server]") {
  auto o = Fixture::default_options();
  o.cors_origins = {"*"};
  Fixture f(o);
  HttpsClient c(f.port());
  auto r = c.get("/ping", {{"Origin", "https://anything.example"}});
  CHECK(r.header("Access-Control-Allow-Origin") == "https://anything.example");
  CHECK(r.header("Access-Control-Allow-Credentials") == "true");
}

TEST_CASE("OPTIONS preflight answers 204 with the CORS grants", "[server]") {
  Fixture f;
  HttpsClient c(f.port());
  auto r = c.request("OPTIONS", "/v8/login", "",
                     {{"Origin", kAllowedOrigin},
                      {"Access-Control-Request-Method", "POST"},
                      {"Access-Control-Request-Headers", "content-type,content-encoding"}});
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  CHECK(r.header("Access-Control-Allow-Origin") == kAllowedOrigin);
  CHECK(r.header("Access-Control-Allow-Credentials") == "true");
  CHECK_THAT(r.header("Access-Control-Allow-Methods"), Contains("POST") && Contains("DELETE"));
  CHECK(r.header("Access-Control-Allow-Headers") == "content-type,content-encoding");
  CHECK(r.header("Access-Control-Max-Age") == "86400");
  CHECK(r.keep_alive);
  CHECK(c.get("/ping").status == 200);

  auto other = c.request("OPTIONS", "/v8/login", "", {{"Origin", "https://evil.example.com"}});
  CHECK(other.status == 204);
  CHECK_FALSE(other.has_header("Access-Control-Allow-Origin"));
}

TEST_CASE("TLS 1.2 and 1.3 are accepted, TLS 1.1 is refused", "[server][tls]") {
  Fixture f;
  SECTION("TLS 1.1") {
    test::ClientOptions o;
    o.max_tls_version = TLS1_1_VERSION;
    // The server itself refuses the protocol version (not just the cipher suites).
    CHECK_THROWS_WITH(HttpsClient(f.port(), o), Contains("protocol version"));
  }
  SECTION("TLS 1.2") {
    test::ClientOptions o;
    o.min_tls_version = TLS1_2_VERSION;
    o.max_tls_version = TLS1_2_VERSION;
    HttpsClient c(f.port(), o);
    CHECK(c.get("/ping").status == 200);
  }
  SECTION("TLS 1.3") {
    test::ClientOptions o;
    o.min_tls_version = TLS1_3_VERSION;
    HttpsClient c(f.port(), o);
    CHECK(c.get("/ping").status == 200);
  }
  // The server keeps serving after a refused handshake.
  HttpsClient c(f.port());
  CHECK(c.get("/ping").status == 200);
}

TEST_CASE("blocking routes run on the worker pool, off the I/O loop", "[server]") {
  Fixture f;  // one I/O loop
  HttpsClient c(f.port());
  std::string loop_thread = c.get("/thread/inline").json()["thread"];
  std::string worker_thread = c.get("/thread/blocking").json()["thread"];
  CHECK(loop_thread != worker_thread);
  CHECK(loop_thread != this_thread_id());

  SECTION("a blocked handler does not stall the loop") {
    // /wait blocks its worker until /release, an inline route, is served on the (only) loop.
    // If /wait ran on the loop, /release could not be served until /wait gave up.
    auto waiter = std::async(std::launch::async, [&] {
      HttpsClient w(f.port());
      return w.get("/wait");
    });
    REQUIRE(eventually([&] { return f.waiting.load(); }));
    auto start = std::chrono::steady_clock::now();
    CHECK(c.get("/release").status == 204);
    CHECK(std::chrono::steady_clock::now() - start < 2s);
    auto w = waiter.get();
    CHECK(w.status == 200);
    CHECK(w.json()["released"] == true);
  }
}

TEST_CASE("stop() returns promptly with an idle keep-alive connection open", "[server]") {
  auto o = Fixture::default_options();
  o.idle_timeout_seconds = 60;
  Fixture f(o);
  HttpsClient c(f.port());
  CHECK(c.get("/ping").keep_alive);
  auto start = std::chrono::steady_clock::now();
  f.server->server().stop();
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(c.wait_closed(2s));  // the idle connection was closed, not leaked
}

TEST_CASE("start() fails clearly when the port is taken", "[server]") {
  Fixture f;
  auto o = Fixture::default_options();
  o.port = f.port();
  o.tls = f.server->options().tls;
  http::Server second(o, f.router);
  CHECK_THROWS_WITH(second.start(), Contains("cannot listen") && Contains(std::to_string(f.port())));
}

TEST_CASE("connections beyond max_connections are refused", "[server]") {
  auto o = Fixture::default_options();
  o.max_connections = 1;
  Fixture f(o);
  auto first = std::make_unique<HttpsClient>(f.port());
  CHECK(first->get("/ping").status == 200);
  CHECK_THROWS(HttpsClient(f.port()));
  first.reset();
  // Once the first connection is gone a new one is served (the server notices asynchronously).
  bool served = eventually([&] {
    try {
      HttpsClient c(f.port());
      return c.get("/ping").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  });
  CHECK(served);
}

TEST_CASE("the metrics listener serves Prometheus text over plain HTTP", "[server][metrics]") {
  Fixture f;
  REQUIRE(f.server->metrics_port() != 0);
  {
    HttpsClient c(f.port());
    CHECK(c.get("/ping").status == 200);
    CHECK(c.get("/nothing").status == 404);
  }
  auto r = test::plain_http_get(f.server->metrics_port(), "/metrics");
  CHECK(r.status == 200);
  CHECK(r.header("Content-Type") == "text/plain; version=0.0.4");
  CHECK_THAT(r.body, Contains("# TYPE wirebox_http_responses_total counter"));
  CHECK_THAT(r.body, Contains("wirebox_http_responses_total{class=\"2xx\"} "));
  CHECK_THAT(r.body, Contains("wirebox_http_responses_total{class=\"4xx\"} "));
  CHECK_THAT(r.body, Contains("# TYPE wirebox_http_connections gauge"));
  CHECK(test::plain_http_get(f.server->metrics_port(), "/other").status == 404);
}

namespace {

// An upload sink that says "no room" every third time it is asked and makes room again from
// another thread; it records whether the server wrote to it while it was paused.
class PausingSink : public http::BodySink {
 public:
  ~PausingSink() override {
    for (auto& t : resumers_) t.join();
  }
  Status write(const char* data, size_t size) override {
    if (paused_) wrote_while_paused_ = true;
    received_.append(data, size);
    return Status::Ok();
  }
  bool wait_for_room(std::function<void()> resume) override {
    if (++asked_ % 3 != 0) return true;
    paused_ = true;
    ++pauses_;
    resumers_.emplace_back([this, resume = std::move(resume)] {
      std::this_thread::yield();
      paused_ = false;
      resume();
    });
    return false;
  }
  Response finish() override {
    return http::json_response(200, {{"received", received_},
                                     {"pauses", pauses_},
                                     {"wrote_while_paused", wrote_while_paused_.load()}});
  }

 private:
  std::string received_;
  int asked_ = 0;
  int pauses_ = 0;
  std::atomic<bool> paused_{false};
  std::atomic<bool> wrote_while_paused_{false};
  std::vector<std::thread> resumers_;
};

// Takes the body whole; on the first wait_for_room() it says "no room" and resumes only after
// `hold` (from a thread of its own), like a disk slower than the connection's idle timeout.
class HoldingSink : public http::BodySink {
 public:
  explicit HoldingSink(std::chrono::milliseconds hold) : hold_(hold) {}
  ~HoldingSink() override {
    if (resumer_.joinable()) resumer_.join();
  }
  Status write(const char*, size_t size) override {
    received_ += size;
    return Status::Ok();
  }
  bool wait_for_room(std::function<void()> resume) override {
    if (held_) return true;
    held_ = true;
    // Time passing is what is tested here: the server must not take this pause for idleness.
    resumer_ = std::thread([hold = hold_, resume = std::move(resume)] {
      std::this_thread::sleep_for(hold);
      resume();
    });
    return false;
  }
  Response finish() override { return http::json_response(200, {{"received", received_}}); }

 private:
  std::chrono::milliseconds hold_;
  bool held_ = false;
  size_t received_ = 0;
  std::thread resumer_;
};

// A server with a 1 s idle timeout whose /upload route streams into a HoldingSink.
struct HoldingUploadServer {
  http::Router router;
  std::unique_ptr<test::TestServer> server;

  explicit HoldingUploadServer(std::chrono::milliseconds hold) {
    router.add_upload(Verb::post, "/upload", Access::kPublic,
                      [hold](Request&) -> Result<std::unique_ptr<http::BodySink>> {
                        return std::unique_ptr<http::BodySink>(std::make_unique<HoldingSink>(hold));
                      },
                      8 << 20);
    auto o = test::TestServer::default_options();
    o.idle_timeout_seconds = 1;
    server = std::make_unique<test::TestServer>(router, std::move(o));
  }
  uint16_t port() const { return server->port(); }
};

}  // namespace

TEST_CASE("an upload whose client stops sending is cut off after the idle timeout", "[server]") {
  HoldingUploadServer server(0ms);
  test::ClientOptions patient;
  patient.timeout = 10s;  // longer than the server should wait
  HttpsClient c(server.port(), patient);
  std::string request =
      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n";
  request += std::string(1000, 'x');  // then nothing more
  auto started = std::chrono::steady_clock::now();
  CHECK_THROWS(c.send_raw(request));  // closed without an answer
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(took >= 900ms);
  CHECK(took < 5s);
}

TEST_CASE("an upload the server pauses longer than the idle timeout is not cut off", "[server]") {
  HoldingUploadServer server(2500ms);
  HttpsClient c(server.port());
  std::string body(1 << 20, 'y');
  auto r = c.request("POST", "/upload", body, {{"Content-Type", "application/octet-stream"}});
  REQUIRE(r.status == 200);
  CHECK(r.json()["received"] == body.size());
}

TEST_CASE("an upload sink that asks to pause gets no bytes until it resumes, and all of them after", "[server]") {
  http::Router router;
  router.add_upload(Verb::post, "/upload", Access::kPublic,
                    [](Request&) -> Result<std::unique_ptr<http::BodySink>> {
                      return std::unique_ptr<http::BodySink>(std::make_unique<PausingSink>());
                    },
                    8 << 20);
  test::TestServer server(router, test::TestServer::default_options());
  std::string body;
  for (int i = 0; body.size() < (2 << 20); ++i) body += std::to_string(i) + ",";
  HttpsClient c(server.port());
  auto r = c.request("POST", "/upload", body, {{"Content-Type", "application/octet-stream"}});
  REQUIRE(r.status == 200);
  auto j = r.json();
  CHECK(j["received"].get<std::string>() == body);
  CHECK(j["pauses"].get<int>() > 3);
  CHECK_FALSE(j["wrote_while_paused"].get<bool>());
  // The connection is still in step for the next request.
  auto again = c.request("POST", "/upload", "tail", {{"Content-Type", "application/octet-stream"}});
  CHECK(again.status == 200);
  CHECK(again.json()["received"] == "tail");
}

namespace {

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Lowers this process's soft open-files limit for one test and puts it back.
struct OpenFilesLimit {
  rlimit saved{};
  explicit OpenFilesLimit(rlim_t soft) {
    REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rlimit low{soft, saved.rlim_max};
    REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
  }
  ~OpenFilesLimit() { setrlimit(RLIMIT_NOFILE, &saved); }
};

}  // namespace

TEST_CASE("out of descriptors, the listener waits instead of spinning, and accepts again once some are free",
          "[server]") {
  http::Router router;
  router.add(Verb::get, "/ping", Access::kPublic, [](Request&) { return http::json_response(200, {{"pong", true}}); },
             Exec::kInline);
  test::TestServer server(router, test::TestServer::default_options());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(server.port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> clients;
  {
    auto open_now = std::distance(std::filesystem::directory_iterator("/proc/self/fd"), {});
    OpenFilesLimit limit(static_cast<rlim_t>(open_now + 16));
    // Each connection takes a descriptor here and one in the server: the clients take the last
    // ones, and connections the server cannot accept wait in the listen backlog.
    for (;;) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      clients.push_back(fd);
      REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
    }
    REQUIRE(clients.size() >= 4);
    // accept() now fails with EMFILE. Retried at once it spins the loop (a whole core); with
    // the pause, the process is all but idle.
    std::this_thread::sleep_for(200ms);
    double before = process_cpu_seconds();
    std::this_thread::sleep_for(1000ms);
    CHECK(process_cpu_seconds() - before < 0.15);
    for (int fd : clients) ::close(fd);
  }
  // Descriptors free again: the listener takes connections within its pause.
  HttpsClient c(server.port());
  CHECK(c.get("/ping").status == 200);
}

TEST_CASE("a file answer drops a field that would split it (an asset's Content-Type is the uploader's text)",
          "[server]") {
  test::TempDir dir;
  std::string path = dir.file("blob");
  {
    std::ofstream out(path, std::ios::binary);
    out << "file bytes";
  }
  http::Router router;
  router.add(Verb::get, "/file", Access::kPublic, [&](Request&) {
    Response r;
    r.content_type = "text/html\nSet-Cookie: zuid=forged";
    r.with_header("X-Fine", "yes");
    r.with_header("X-Split", "a\r\nX-Forged: 1");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    r.file = http::FileSlice{std::make_shared<const http::OpenFile>(fd), 0, 10};
    return r;
  });
  test::TestServer server(router, test::TestServer::default_options());
  HttpsClient c(server.port());
  for (int round = 0; round < 2; ++round) {  // and the connection still works after it
    auto r = c.get("/file");
    CHECK(r.status == 200);
    CHECK(r.body == "file bytes");
    CHECK(r.header("X-Fine") == "yes");
    CHECK_FALSE(r.has_header("Set-Cookie"));
    CHECK_FALSE(r.has_header("X-Forged"));
    CHECK_FALSE(r.has_header("X-Split"));
    CHECK_FALSE(r.has_header("Content-Type"));
  }
}

TEST_CASE("file bodies arrive whole and the next response on the connection is not held back", "[server]") {
  // The server corks the socket while a file body streams (full segments instead of one per
  // TLS record) and must uncork when it is done: a leftover cork holds the tail of a body, or
  // the next small response, for the kernel's 200 ms ceiling.
  test::TempDir dir;
  std::string content(3 * 1024 * 1024 + 12345, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::string path = dir.file("blob");
  {
    std::ofstream out(path, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  http::Router router;
  router.add(Verb::get, "/file", Access::kPublic, [&](Request&) {
    Response r;
    r.content_type = "application/octet-stream";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    r.file = http::FileSlice{std::make_shared<const http::OpenFile>(fd), 0, content.size()};
    return r;
  });
  router.add(Verb::get, "/ping", Access::kPublic, [](Request&) { return http::json_response(200, {{"pong", true}}); },
             Exec::kInline);
  test::TestServer server(router, test::TestServer::default_options());
  HttpsClient c(server.port());
  for (int round = 0; round < 3; ++round) {
    auto started = std::chrono::steady_clock::now();
    auto file = c.get("/file");
    auto ping = c.get("/ping");
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(file.status == 200);
    CHECK(file.body == content);
    CHECK(ping.status == 200);
    // 3 MiB on loopback takes a few ms; a cork left set costs 200 ms per response.
    CHECK(took < 150ms);
  }
}
