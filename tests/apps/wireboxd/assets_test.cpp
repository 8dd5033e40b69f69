// The asset store through a real daemon over HTTPS: the client's multipart upload, streamed
// downloads (Range, ETag), visibility and tokens, deletion, bad input, concurrency, a full
// disk and kill -9 in the middle of an upload.
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include <openssl/evp.h>

#include "apps/wireboxd/daemon.h"
#include "core/encoding.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"

using namespace wirebox;
using nlohmann::json;
using test::Headers;
using test::HttpsClient;
namespace fs = std::filesystem;

namespace {

const std::string kDomain = "wirebox.localhost";

std::map<std::string, std::string> box_config(const std::string& dir) {
  return {{"server.data_dir", dir},       {"http.listen", "127.0.0.1:0"},      {"http.loops", "1"},
          {"http.workers", "2"},          {"auth.password_scrypt_log2_n", "10"}, {"assets.max_upload_mb", "2"},
          {"turn.enabled", "false"}};
}

struct Box {
  test::TempDir dir;
  std::unique_ptr<Daemon> daemon;
  Box() {
    auto config = load_config(std::nullopt, box_config(dir.path()));
    REQUIRE(config.ok());
    daemon = std::make_unique<Daemon>(config.value());
    daemon->start();
  }
  uint16_t port() const { return daemon->port(); }
  std::string assets_dir() const { return dir.path() + "/assets"; }
};

struct User {
  std::string id, token;
  Headers auth() const { return {{"Authorization", "Bearer " + token}}; }
};

User make_user(HttpsClient& c, const std::string& name) {
  auto r = c.post_json("/v8/register", {{"name", name}, {"email", name + "@example.com"}, {"password", "secret-password"}});
  REQUIRE(r.status == 201);
  std::string sc = r.header("Set-Cookie");
  auto access = c.request("POST", "/access", "", {{"Cookie", "zuid=" + sc.substr(5, sc.find(';') - 5)}});
  REQUIRE(access.status == 200);
  return {r.json()["id"], access.json()["access_token"]};
}

std::string md5_base64(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_md5(), nullptr);
  return base64_encode(std::string(reinterpret_cast<char*>(digest), len));
}

std::string random_bytes_of(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// The body exactly as @wireapp/api-client's AssetAPI builds it.
std::string multipart(const std::string& boundary, const std::string& metadata, const std::string& bytes,
                      const std::string& md5) {
  return "--" + boundary + "\r\nContent-Type: application/json;charset=utf-8\r\nContent-length: " +
         std::to_string(metadata.size()) + "\r\n\r\n" + metadata + "\r\n--" + boundary +
         "\r\nContent-Type: application/octet-stream\r\nContent-length: " + std::to_string(bytes.size()) +
         "\r\nContent-MD5: " + md5 + "\r\n\r\n" + bytes + "\r\n--" + boundary + "--\r\n";
}

test::HttpResponse upload(HttpsClient& c, const User& u, const std::string& bytes,
                          const std::string& metadata = R"({"public":true,"retention":"persistent"})") {
  Headers h = u.auth();
  h.emplace_back("Content-Type", "multipart/mixed; boundary=Frontier42");
  return c.request("POST", "/v8/assets", multipart("Frontier42", metadata, bytes, md5_base64(bytes)), h);
}

// A request on its own connection (the server closes the connection after refusing an upload).
test::HttpResponse once(uint16_t port, const std::string& method, const std::string& target, const std::string& body,
                        const Headers& headers) {
  HttpsClient c(port);
  return c.request(method, target, body, headers);
}

size_t files_under(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file()) ++n;
  return n;
}

std::string asset_path(const std::string& key) { return "/v8/assets/" + kDomain + "/" + key; }

// For the upload-limit tests: a daemon with extra settings, and one upload body that can be sent
// whole or stalled halfway (its client gives up after 2 s, and the upload is dropped).
struct UploadRig {
  test::TempDir dir;
  std::unique_ptr<Daemon> daemon;
  uint16_t port = 0;
  std::string body;
  std::vector<std::thread> stalled;

  UploadRig(const std::map<std::string, std::string>& settings, size_t asset_bytes, unsigned seed) {
    auto overrides = box_config(dir.path());
    for (const auto& [key, value] : settings) overrides[key] = value;
    auto config = load_config(std::nullopt, overrides);
    REQUIRE(config.ok());
    daemon = std::make_unique<Daemon>(config.value());
    daemon->start();
    port = daemon->port();
    std::string bytes = random_bytes_of(asset_bytes, seed);
    body = multipart("B", R"({"public":true})", bytes, md5_base64(bytes));
  }
  ~UploadRig() {
    for (auto& t : stalled)
      if (t.joinable()) t.join();
  }
  User user(const std::string& name) const {
    HttpsClient c(port);
    return make_user(c, name);
  }
  std::string head(const User& u) const {
    return "POST /v8/assets HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + u.token +
           "\r\nContent-Type: multipart/mixed; boundary=B\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  }
  test::HttpResponse whole(const User& u) const {
    HttpsClient c(port);
    return c.send_raw(head(u) + body);
  }
  size_t temp_files() const { return files_under(dir.path() + "/assets/tmp"); }
  // Starts an upload that sends half its body and then nothing; returns once its temp file is there.
  void stall(const User& u) {
    size_t before = temp_files();
    stalled.emplace_back([this, u] {
      try {
        HttpsClient c(port, test::ClientOptions{"127.0.0.1", std::chrono::milliseconds(2000)});
        c.send_raw(head(u) + body.substr(0, body.size() / 2));
      } catch (const std::exception&) {
        // the client's timeout: it closes the connection and the upload is dropped
      }
    });
    for (int waited = 0; waited < 500 && temp_files() <= before; ++waited)  // bounded: ~5 s
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(temp_files() == before + 1);
  }
  // Waits for the stalled uploads to end and leave nothing behind.
  void end_stalled() {
    for (auto& t : stalled) t.join();
    stalled.clear();
    for (int waited = 0; waited < 500 && temp_files() > 0; ++waited)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(temp_files() == 0);
  }
};

}  // namespace

TEST_CASE("an upload in the client's format is stored and streamed back byte-exact") {
  Box box;
  HttpsClient c(box.port());
  User alice = make_user(c, "alice");
  User bob = make_user(c, "bob");
  std::string bytes = random_bytes_of(1536 * 1024, 1);

  auto r = upload(c, alice, bytes);
  REQUIRE(r.status == 201);
  json body = r.json();
  std::string key = body["key"];
  CHECK(std::regex_match(key, std::regex("3-2-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  CHECK(body["domain"] == kDomain);
  CHECK_FALSE(body.contains("token"));
  CHECK_FALSE(body.contains("expires"));
  CHECK(r.header("Location") == "/assets/" + kDomain + "/" + key);
  CHECK(r.keep_alive);

  auto got = c.get(asset_path(key), bob.auth());  // public: any authenticated user
  REQUIRE(got.status == 200);
  CHECK(got.body == bytes);
  CHECK(got.header("Content-Type") == "application/octet-stream");
  std::string etag = got.header("ETag");
  CHECK(etag == "\"" + md5_base64(bytes) + "\"");
  CHECK(got.header("Accept-Ranges") == "bytes");
  // Opened in a browser, the uploader's bytes must never run as a page of the API's origin.
  CHECK(got.header("X-Content-Type-Options") == "nosniff");
  CHECK(got.header("Content-Security-Policy") == "sandbox; default-src 'none'");
  CHECK(got.header("Content-Disposition") == "attachment");

  Headers cond = bob.auth();
  cond.emplace_back("If-None-Match", etag);
  auto not_modified = c.get(asset_path(key), cond);
  CHECK(not_modified.status == 304);
  CHECK(not_modified.body.empty());

  Headers range = bob.auth();
  range.emplace_back("Range", "bytes=1000-1999");
  auto part = c.get(asset_path(key), range);
  REQUIRE(part.status == 206);
  CHECK(part.body == bytes.substr(1000, 1000));
  CHECK(part.header("Content-Range") == "bytes 1000-1999/" + std::to_string(bytes.size()));
  range.back().second = "bytes=-10";
  auto tail = c.get(asset_path(key), range);
  REQUIRE(tail.status == 206);
  CHECK(tail.body == bytes.substr(bytes.size() - 10));
  range.back().second = "bytes=" + std::to_string(bytes.size()) + "-";
  auto beyond = c.get(asset_path(key), range);
  CHECK(beyond.status == 416);
  CHECK(beyond.header("Content-Range") == "bytes */" + std::to_string(bytes.size()));

  CHECK(c.get(asset_path(key)).status == 401);  // no access token
  CHECK(files_under(box.assets_dir() + "/tmp") == 0);
}

TEST_CASE("retention: volatile and expiring assets say when they expire") {
  Box box;
  HttpsClient c(box.port());
  User alice = make_user(c, "alice");
  auto r = upload(c, alice, "abc", R"({"public":true,"retention":"volatile"})");
  REQUIRE(r.status == 201);
  CHECK(r.json()["key"].get<std::string>().substr(0, 4) == "3-3-");
  CHECK(r.json().contains("expires"));
  auto e = upload(c, alice, "abc", R"({"public":false,"retention":"eternal"})");
  REQUIRE(e.status == 201);
  CHECK(e.json()["key"].get<std::string>().substr(0, 4) == "3-1-");
  CHECK_FALSE(e.json().contains("expires"));
}

TEST_CASE("a private asset is readable by its owner and token holders only") {
  Box box;
  HttpsClient c(box.port());
  User alice = make_user(c, "alice");
  User stranger = make_user(c, "stranger");
  std::string bytes = random_bytes_of(5000, 2);
  auto r = upload(c, alice, bytes, R"({"public":false,"retention":"persistent"})");
  REQUIRE(r.status == 201);
  std::string key = r.json()["key"];
  std::string token = r.json()["token"];
  REQUIRE_FALSE(token.empty());

  CHECK(c.get(asset_path(key), alice.auth()).body == bytes);
  auto denied = c.get(asset_path(key), stranger.auth());
  CHECK(denied.status == 404);
  CHECK(denied.json()["label"] == "not-found");
  CHECK(c.get(asset_path(key) + "?asset_token=wrong", stranger.auth()).status == 404);
  auto with_query = c.get(asset_path(key) + "?asset_token=" + token, stranger.auth());
  CHECK(with_query.status == 200);
  CHECK(with_query.body == bytes);
  Headers with_header = stranger.auth();
  with_header.emplace_back("Asset-Token", token);
  CHECK(c.get(asset_path(key), with_header).status == 200);

  // Only the owner renews or revokes; a renewed token replaces the old one.
  CHECK(c.request("POST", asset_path(key) + "/token", "", stranger.auth()).status == 403);
  auto renewed = c.request("POST", asset_path(key) + "/token", "", alice.auth());
  REQUIRE(renewed.status == 200);
  std::string token2 = renewed.json()["token"];
  CHECK(token2 != token);
  CHECK(c.get(asset_path(key) + "?asset_token=" + token, stranger.auth()).status == 404);
  CHECK(c.get(asset_path(key) + "?asset_token=" + token2, stranger.auth()).status == 200);
  CHECK(c.request("DELETE", asset_path(key) + "/token", "", alice.auth()).status == 200);
  CHECK(c.get(asset_path(key) + "?asset_token=" + token2, stranger.auth()).status == 404);
  CHECK(c.get(asset_path(key), alice.auth()).status == 200);

  // Metadata that does not say "public" makes a private asset, as cargohold's default.
  auto unsaid = upload(c, alice, bytes, R"({"retention":"persistent"})");
  REQUIRE(unsaid.status == 201);
  CHECK_FALSE(unsaid.json().value("token", "").empty());
  CHECK(c.get(asset_path(unsaid.json()["key"]), stranger.auth()).status == 404);
}

TEST_CASE("an asset uploaded as an HTML page is served so that no browser runs it") {
  Box box;
  HttpsClient c(box.port());
  User alice = make_user(c, "alice");
  User bob = make_user(c, "bob");
  std::string page = "<html><script>fetch('/access',{method:'POST',credentials:'include'})</script></html>";
  std::string body = "--B\r\nContent-Type: application/json\r\n\r\n{\"public\":true}\r\n--B\r\n"
                     "Content-Type: text/html\r\nContent-MD5: " + md5_base64(page) + "\r\n\r\n" + page + "\r\n--B--\r\n";
  Headers h = alice.auth();
  h.emplace_back("Content-Type", "multipart/mixed; boundary=B");
  auto r = c.request("POST", "/v8/assets", body, h);
  REQUIRE(r.status == 201);
  auto got = c.get(asset_path(r.json()["key"]) + "?access_token=" + bob.token);
  REQUIRE(got.status == 200);
  CHECK(got.body == page);
  CHECK(got.header("Content-Type") == "text/html");
  CHECK(got.header("X-Content-Type-Options") == "nosniff");
  CHECK(got.header("Content-Security-Policy") == "sandbox; default-src 'none'");
  CHECK(got.header("Content-Disposition") == "attachment");
}

TEST_CASE("upload limits: uploads per minute, and bytes per hour counting uploads still running") {
  UploadRig rig({{"assets.upload_mb_per_hour", "1"}, {"assets.uploads_per_minute", "12"}}, 600 * 1024, 9);
  User alice = rig.user("alice"), bob = rig.user("bob");
  uint16_t port = rig.port;
  auto whole = [&](const User& u) { return rig.whole(u).status; };

  // Two 600 KiB uploads stall halfway: both started below the 1 MiB an hour, so both were let
  // in, and together they may store 1.2 MiB.
  rig.stall(alice);
  rig.stall(alice);
  // A third one while they run is refused (it used to get in: only stored bytes counted).
  CHECK(whole(alice) == 429);
  CHECK(whole(bob) == 201);  // the limit is per user
  rig.end_stalled();

  // Dropped uploads give their reservation back; stored bytes count for the hour.
  CHECK(whole(alice) == 201);
  CHECK(whole(alice) == 201);
  CHECK(whole(alice) == 429);  // 1.2 MiB stored this hour

  // Uploads per minute, counted per user: carol's 13th small upload within a minute is refused.
  User carol;
  {
    HttpsClient c(port);
    carol = make_user(c, "carol");
    for (int i = 0; i < 12; ++i) REQUIRE(upload(c, carol, "small").status == 201);
  }
  CHECK(once(port, "POST", "/v8/assets", multipart("B", "{}", "small", md5_base64("small")),
             {{"Authorization", "Bearer " + carol.token}, {"Content-Type", "multipart/mixed; boundary=B"}})
            .status == 429);
}

TEST_CASE("upload limits: uploads in flight, per user (429) and in all (503)") {
  UploadRig rig({{"assets.max_user_uploads_in_flight", "2"}, {"assets.max_uploads_in_flight", "3"}}, 200 * 1024, 11);
  User alice = rig.user("alice"), bob = rig.user("bob"), carol = rig.user("carol");
  auto whole = [&](const User& u) { return rig.whole(u); };

  // Stalled uploads keep their places until they end.
  rig.stall(alice);
  rig.stall(alice);
  auto third = whole(alice);
  CHECK(third.status == 429);
  CHECK(third.json()["label"] == "client-error");
  CHECK(third.json()["message"] == "Too many uploads in progress, retry later");
  rig.stall(bob);
  auto fourth = whole(carol);  // carol runs none, but three are running in all
  CHECK(fourth.status == 503);
  CHECK(fourth.json()["label"] == "server-busy");
  CHECK(rig.temp_files() == 3);  // the refused uploads left nothing
  rig.end_stalled();
  // Ended uploads, stored or dropped, give their places back.
  CHECK(whole(alice).status == 201);
  CHECK(whole(alice).status == 201);
  CHECK(whole(carol).status == 201);
}

TEST_CASE("a profile picture is an uploaded asset key; PUT /self refuses anything else") {
  Box box;
  HttpsClient c(box.port());
  User alice = make_user(c, "alice");
  User bob = make_user(c, "bob");
  auto r = upload(c, alice, random_bytes_of(3000, 7), R"({"public":true,"retention":"eternal"})");
  REQUIRE(r.status == 201);
  std::string key = r.json()["key"];
  Headers json_auth = alice.auth();
  json_auth.emplace_back("Content-Type", "application/json");
  json picture = {{"assets", {{{"key", key}, {"size", "complete"}, {"type", "image"}, {"domain", kDomain}}}}};
  CHECK(c.request("PUT", "/v8/self", picture.dump(), json_auth).status == 200);
  auto seen = c.get("/v8/users/" + kDomain + "/" + alice.id, bob.auth());
  REQUIRE(seen.status == 200);
  CHECK(seen.json()["assets"][0]["key"] == key);
  CHECK(c.get(asset_path(key), bob.auth()).status == 200);

  for (const std::string& bad : std::vector<std::string>{"../../etc/passwd", "3-2-not-a-uuid", "x", "3-9-" + key.substr(4), key + "/"}) {
    json refused = {{"assets", {{{"key", bad}, {"size", "preview"}, {"type", "image"}}}}};
    auto answer = c.request("PUT", "/v8/self", refused.dump(), json_auth);
    CHECK(answer.status == 400);
    CHECK(answer.json()["label"] == "bad-request");
  }
  CHECK(c.get("/v8/users/" + kDomain + "/" + alice.id, bob.auth()).json()["assets"][0]["key"] == key);
}

TEST_CASE("only the owner deletes an asset; then it is gone, file included") {
  Box box;
  HttpsClient c(box.port());
  User alice = make_user(c, "alice");
  User bob = make_user(c, "bob");
  auto r = upload(c, alice, "to be deleted");
  REQUIRE(r.status == 201);
  std::string key = r.json()["key"];
  REQUIRE(files_under(box.assets_dir()) == 1);
  auto refused = c.request("DELETE", asset_path(key), "", bob.auth());
  CHECK(refused.status == 403);
  CHECK(refused.json()["label"] == "unauthorised");
  CHECK(c.request("DELETE", asset_path(key), "", alice.auth()).status == 200);
  CHECK(c.get(asset_path(key), alice.auth()).status == 404);
  CHECK(c.request("DELETE", asset_path(key), "", alice.auth()).status == 404);
  CHECK(files_under(box.assets_dir()) == 0);
}

TEST_CASE("bad uploads get a clear 4xx and leave no file behind") {
  Box box;
  HttpsClient c(box.port());
  User alice = make_user(c, "alice");
  REQUIRE(upload(c, alice, "kept").status == 201);
  std::string bytes = random_bytes_of(200000, 3);
  std::string md5 = md5_base64(bytes);
  std::string meta = R"({"public":true,"retention":"persistent"})";
  auto post = [&](const std::string& body, const std::string& content_type = "multipart/mixed; boundary=B") {
    Headers h = alice.auth();
    h.emplace_back("Content-Type", content_type);
    return once(box.port(), "POST", "/v8/assets", body, h);
  };
  struct Case {
    const char* name;
    std::string body;
    std::string content_type;
    int status;
  };
  std::string good = multipart("B", meta, bytes, md5);
  std::vector<Case> cases = {
      {"wrong MD5", multipart("B", meta, bytes, md5_base64("other")), "multipart/mixed; boundary=B", 400},
      {"MD5 not base64 of 16 bytes", multipart("B", meta, bytes, "bm90IGFuIG1kNQ=="), "multipart/mixed; boundary=B", 400},
      {"truncated multipart", good.substr(0, good.size() - 40), "multipart/mixed; boundary=B", 400},
      {"missing asset part",
       "--B\r\nContent-Type: application/json\r\n\r\n" + meta + "\r\n--B--\r\n", "multipart/mixed; boundary=B", 400},
      {"missing Content-MD5",
       "--B\r\nContent-Type: application/json\r\n\r\n" + meta +
           "\r\n--B\r\nContent-Type: application/octet-stream\r\n\r\nabc\r\n--B--\r\n",
       "multipart/mixed; boundary=B", 400},
      {"wrong boundary", good, "multipart/mixed; boundary=Other", 400},
      {"not multipart", good, "application/octet-stream", 400},
      {"unknown retention", multipart("B", R"({"public":true,"retention":"forever"})", bytes, md5),
       "multipart/mixed; boundary=B", 400},
      {"metadata not JSON", multipart("B", "{nope", bytes, md5), "multipart/mixed; boundary=B", 400},
      {"foreign domain", multipart("B", R"({"public":true,"domain":"example.org"})", bytes, md5),
       "multipart/mixed; boundary=B", 400},
      {"part length lies",
       "--B\r\nContent-Type: application/json\r\n\r\n" + meta +
           "\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-length: 2\r\nContent-MD5: " + md5_base64("abc") +
           "\r\n\r\nabc\r\n--B--\r\n",
       "multipart/mixed; boundary=B", 400},
      {"three parts", multipart("B", meta, "abc", md5_base64("abc")).substr(0, 0) +
                          "--B\r\n\r\n{}\r\n--B\r\nContent-MD5: " + md5_base64("abc") + "\r\n\r\nabc\r\n--B\r\n\r\nx\r\n--B--\r\n",
       "multipart/mixed; boundary=B", 400},
      {"a bare LF in the asset part's Content-Type (it is sent back with downloads)",
       "--B\r\nContent-Type: application/json\r\n\r\n" + meta +
           "\r\n--B\r\nContent-Type: text/html\nSet-Cookie: zuid=forged\r\nContent-MD5: " + md5_base64("abc") +
           "\r\n\r\nabc\r\n--B--\r\n",
       "multipart/mixed; boundary=B", 400},
      {"over the personal limit (2 MiB)",
       multipart("B", meta, random_bytes_of(2 * 1024 * 1024 + 10, 4), md5), "multipart/mixed; boundary=B", 413},
  };
  for (const auto& k : cases) {
    INFO(k.name);
    auto r = post(k.body, k.content_type);
    CHECK(r.status == k.status);
    CHECK(r.json().contains("label"));
    CHECK(files_under(box.assets_dir()) == 1);
  }
  // Oversize announced by Content-Length is refused before the body is read.
  CHECK(post(multipart("B", meta, random_bytes_of(3 * 1024 * 1024, 5), md5)).status == 413);
  // gzip is not accepted for uploads (the limit and the MD5 are about the bytes stored).
  Headers gz = alice.auth();
  gz.emplace_back("Content-Type", "multipart/mixed; boundary=B");
  gz.emplace_back("Content-Encoding", "gzip");
  CHECK(once(box.port(), "POST", "/v8/assets", good, gz).status == 415);
  // No token: 401 before any byte is stored.
  CHECK(once(box.port(), "POST", "/v8/assets", good, {{"Content-Type", "multipart/mixed; boundary=B"}}).status == 401);
  CHECK(files_under(box.assets_dir()) == 1);
  // The daemon is still fine and the connection after a refusal works again.
  CHECK(upload(c, alice, "still works").status == 201);
}

TEST_CASE("asset paths that are not keys are 404, never files") {
  Box box;
  HttpsClient c(box.port());
  User alice = make_user(c, "alice");
  for (const std::string& target : std::vector<std::string>{"/v8/assets/" + kDomain + "/..%2F..%2Fwirebox.db", "/v8/assets/" + kDomain + "/..",
                             "/v8/assets/" + kDomain + "/3-2-..%2Fwirebox.db",
                             "/v8/assets/" + kDomain + "/3-2-00000000-0000-4000-8000-000000000000",
                             std::string("/v8/assets/example.org/3-2-00000000-0000-4000-8000-000000000000")}) {
    INFO(target);
    auto r = c.get(target, alice.auth());
    CHECK(r.status == 404);
    CHECK(r.json()["label"] == "not-found");
  }
}

TEST_CASE("concurrent uploads get distinct keys and all read back intact") {
  Box box;
  User alice;
  {
    HttpsClient c(box.port());
    alice = make_user(c, "alice");
  }
  constexpr int kThreads = 6, kEach = 4;
  std::vector<std::vector<std::pair<std::string, std::string>>> stored(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      HttpsClient c(box.port());
      for (int i = 0; i < kEach; ++i) {
        std::string bytes = random_bytes_of(100000 + static_cast<size_t>(t * 1000 + i), static_cast<unsigned>(t * 100 + i));
        auto r = upload(c, alice, bytes);
        if (r.status == 201) stored[static_cast<size_t>(t)].emplace_back(r.json()["key"], bytes);
      }
    });
  for (auto& t : threads) t.join();
  std::set<std::string> keys;
  HttpsClient c(box.port());
  for (const auto& per_thread : stored) {
    CHECK(per_thread.size() == kEach);
    for (const auto& [key, bytes] : per_thread) {
      keys.insert(key);
      CHECK(c.get(asset_path(key), alice.auth()).body == bytes);
    }
  }
  CHECK(keys.size() == kThreads * kEach);
}

namespace {

// Runs a daemon in a child process (so the test can kill it or limit it); returns its pid
// and port. The child sets RLIMIT_FSIZE to `fsize_limit` bytes when it gets SIGUSR1.
rlim_t g_fsize_limit = RLIM_INFINITY;
void limit_file_size(int) {
  rlimit lim{g_fsize_limit, g_fsize_limit};
  setrlimit(RLIMIT_FSIZE, &lim);
}

std::pair<pid_t, uint16_t> fork_daemon(const std::map<std::string, std::string>& overrides, rlim_t fsize_limit) {
  int port_pipe[2];
  REQUIRE(pipe(port_pipe) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(port_pipe[0]);
    g_fsize_limit = fsize_limit;
    signal(SIGXFSZ, SIG_IGN);  // past the limit, write() fails with EFBIG instead of killing us
    signal(SIGUSR1, limit_file_size);
    auto config = load_config(std::nullopt, overrides);
    if (!config) _exit(2);
    Daemon daemon(config.value());
    daemon.start();
    uint16_t port = daemon.port();
    if (write(port_pipe[1], &port, sizeof port) != sizeof port) _exit(3);
    for (;;) pause();
  }
  close(port_pipe[1]);
  uint16_t port = 0;
  pollfd pfd{port_pipe[0], POLLIN, 0};
  REQUIRE(poll(&pfd, 1, 20000) == 1);
  REQUIRE(read(port_pipe[0], &port, sizeof port) == sizeof port);
  close(port_pipe[0]);
  return {child, port};
}

void kill_daemon(pid_t child) {
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
}

}  // namespace

TEST_CASE("a full disk answers 507 and leaves no partial file; smaller uploads still work") {
  test::TempDir dir;
  auto [child, port] = fork_daemon(box_config(dir.path()), 600 * 1024);
  User alice;
  {
    HttpsClient c(port);
    alice = make_user(c, "alice");
  }
  kill(child, SIGUSR1);
  // The signal is asynchronous: retry until the limit bites (bounded).
  test::HttpResponse r;
  for (int attempt = 0; attempt < 50; ++attempt) {
    HttpsClient c(port);
    r = upload(c, alice, random_bytes_of(1024 * 1024, 6));
    if (r.status != 201) break;
  }
  CHECK(r.status == 507);
  CHECK(r.json()["label"] == "insufficient-storage");
  CHECK(files_under(dir.path() + "/assets/tmp") == 0);
  HttpsClient c(port);
  CHECK(upload(c, alice, random_bytes_of(1000, 7)).status == 201);
  kill_daemon(child);
}

TEST_CASE("kill -9 during a large upload leaves no partial asset after restart") {
  test::TempDir dir;
  auto overrides = box_config(dir.path());
  overrides["assets.max_upload_mb"] = "64";
  auto [child, port] = fork_daemon(overrides, RLIM_INFINITY);
  User alice;
  {
    HttpsClient c(port);
    alice = make_user(c, "alice");
  }
  std::string bytes = random_bytes_of(32 * 1024 * 1024, 8);
  std::string body = multipart("B", R"({"public":true})", bytes, md5_base64(bytes));
  std::string head = "POST /v8/assets HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + alice.token +
                     "\r\nContent-Type: multipart/mixed; boundary=B\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\n\r\n";
  std::thread uploader([&] {
    try {
      HttpsClient c(port, test::ClientOptions{"127.0.0.1", std::chrono::milliseconds(20000)});
      c.send_raw(head + body.substr(0, body.size() / 2));  // never completes: waits for an answer
    } catch (const std::exception&) {
      // the daemon died: expected
    }
  });
  // Wait (bounded) until part of the upload is on disk, then kill the daemon.
  bool partial_on_disk = false;
  for (int i = 0; i < 1000 && !partial_on_disk; ++i) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir.path() + "/assets/tmp", ec))
      if (e.is_regular_file() && e.file_size() > 1024 * 1024) partial_on_disk = true;
    if (!partial_on_disk) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill_daemon(child);
  uploader.join();
  REQUIRE(partial_on_disk);

  auto config = load_config(std::nullopt, overrides);
  REQUIRE(config.ok());
  Daemon restarted(config.value());
  restarted.start();
  CHECK(files_under(dir.path() + "/assets") == 0);
  HttpsClient c(restarted.port());
  CHECK(upload(c, alice, "after the crash").status == 201);
}
