#include <catch2/catch.hpp>

#include <random>

#include "assets/multipart_reader.h"

using namespace wirebox;
using namespace wirebox::assets;

namespace {

struct Recorder : PartHandler {
  std::vector<std::map<std::string, std::string>> headers;
  std::vector<std::string> bodies;
  int ended = 0;
  size_t refuse_after_bytes = SIZE_MAX;
  size_t seen = 0;

  Status begin_part(const std::map<std::string, std::string>& h) override {
    headers.push_back(h);
    bodies.emplace_back();
    return Status::Ok();
  }
  Status part_data(const char* data, size_t size) override {
    seen += size;
    if (seen > refuse_after_bytes) return ApiError{413, "client-error", "Asset too large."};
    bodies.back().append(data, size);
    return Status::Ok();
  }
  Status end_part() override {
    ++ended;
    return Status::Ok();
  }
};

// The body exactly as @wireapp/api-client builds it.
std::string client_body(const std::string& boundary, const std::string& json, const std::string& bytes) {
  return "--" + boundary + "\r\nContent-Type: application/json;charset=utf-8\r\nContent-length: " +
         std::to_string(json.size()) + "\r\n\r\n" + json + "\r\n--" + boundary +
         "\r\nContent-Type: application/octet-stream\r\nContent-length: " + std::to_string(bytes.size()) +
         "\r\nContent-MD5: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n" + bytes + "\r\n--" + boundary + "--\r\n";
}

Status feed_in_pieces(MultipartReader& reader, const std::string& body, size_t piece) {
  for (size_t i = 0; i < body.size(); i += piece) {
    Status s = reader.feed(body.data() + i, std::min(piece, body.size() - i));
    if (!s) return s;
  }
  return reader.finish();
}

}  // namespace

TEST_CASE("the client's two-part body parses the same whatever the piece sizes") {
  std::string bytes;
  std::mt19937 rng(7);
  for (int i = 0; i < 70000; ++i) bytes.push_back(static_cast<char>(rng()));
  // Bytes that look like the start of a delimiter must stay data.
  bytes += "\r\n--Frontie\r\n--Frontierx";
  std::string json = R"({"public":true,"retention":"persistent"})";
  std::string body = client_body("Frontierabc", json, bytes);
  // Pieces shorter and longer than the delimiter (15 bytes here), so delimiters and look-alikes
  // fall inside pieces and across their seams.
  for (size_t piece : {size_t{1}, size_t{2}, size_t{7}, size_t{13}, size_t{14}, size_t{15}, size_t{16},
                       size_t{17}, size_t{29}, size_t{100}, size_t{1000}, size_t{4096}, body.size()}) {
    INFO("piece " << piece);
    Recorder r;
    MultipartReader reader("Frontierabc", r);
    REQUIRE(feed_in_pieces(reader, body, piece).ok());
    REQUIRE(r.bodies.size() == 2);
    CHECK(r.bodies[0] == json);
    CHECK(r.bodies[1] == bytes);
    CHECK(r.ended == 2);
    CHECK(r.headers[0].at("content-type") == "application/json;charset=utf-8");
    CHECK(r.headers[1].at("content-md5") == "AAAAAAAAAAAAAAAAAAAAAA==");
    CHECK(r.headers[1].at("content-length") == std::to_string(bytes.size()));
  }
}

TEST_CASE("random piece sizes: the same parts, and body bytes handed on in order") {
  std::mt19937 rng(11);
  std::string bytes;
  for (int i = 0; i < 20000; ++i) bytes.push_back(static_cast<char>(rng()));
  for (int i = 0; i < 200; ++i) bytes += i % 2 ? "\r\n--Frontierab" : "\r\n-";  // near-delimiters
  std::string json = R"({"public":false})";
  std::string body = client_body("Frontierabc", json, bytes);
  for (int round = 0; round < 200; ++round) {
    INFO("round " << round);
    Recorder r;
    MultipartReader reader("Frontierabc", r);
    size_t at = 0;
    while (at < body.size()) {
      size_t piece = std::min(body.size() - at, size_t(1) + rng() % (round % 2 ? 40 : 3000));
      REQUIRE(reader.feed(body.data() + at, piece).ok());
      at += piece;
    }
    REQUIRE(reader.finish().ok());
    REQUIRE(r.bodies.size() == 2);
    CHECK(r.bodies[0] == json);
    CHECK(r.bodies[1] == bytes);
  }
}

TEST_CASE("malformed multipart bodies are refused") {
  std::string body = client_body("B1", "{}", "data");
  SECTION("wrong boundary: refused within the preamble limit, not after the whole body") {
    std::string big = client_body("B1", "{}", std::string(100000, 'x'));
    Recorder r;
    MultipartReader reader("OTHER", r);
    Status s = Status::Ok();
    size_t fed = 0;
    for (; fed < big.size() && s.ok(); fed += 512) s = reader.feed(big.data() + fed, std::min<size_t>(512, big.size() - fed));
    CHECK_FALSE(s.ok());
    CHECK(s.error().code == 400);
    CHECK(fed <= 4096);
  }
  SECTION("truncated before the closing delimiter") {
    Recorder r;
    MultipartReader reader("B1", r);
    REQUIRE(reader.feed(body.data(), body.size() - 10).ok());
    Status s = reader.finish();
    CHECK_FALSE(s.ok());
    CHECK(s.error().code == 400);
  }
  SECTION("garbage after a delimiter") {
    Recorder r;
    MultipartReader reader("B1", r);
    std::string bad = "--B1XX\r\n\r\n";
    CHECK_FALSE(reader.feed(bad.data(), bad.size()).ok());
  }
  SECTION("unbounded part headers") {
    Recorder r;
    MultipartReader reader("B1", r);
    std::string bad = "--B1\r\nX-Long: " + std::string(20000, 'a');
    CHECK_FALSE(reader.feed(bad.data(), bad.size()).ok());
  }
  SECTION("a header line without a colon") {
    Recorder r;
    MultipartReader reader("B1", r);
    std::string bad = "--B1\r\nnot a header\r\n\r\ndata\r\n--B1--";
    CHECK_FALSE(reader.feed(bad.data(), bad.size()).ok());
  }
  SECTION("a bare CR, LF or other control character in a part header") {
    // Lines end at CRLF only: a lone LF would stay inside the value, and an asset's
    // Content-Type is sent back in its download answer.
    for (std::string value : {std::string("text/html\nSet-Cookie: zuid=x"), std::string("text/html\rX: y"),
                              std::string("a\0b", 3), std::string("a\x7f")}) {
      CAPTURE(value);
      Recorder r;
      MultipartReader reader("B1", r);
      std::string bad = "--B1\r\nContent-Type: " + value + "\r\n\r\ndata\r\n--B1--";
      Status s = reader.feed(bad.data(), bad.size());
      REQUIRE_FALSE(s.ok());
      CHECK(s.error().code == 400);
      CHECK(r.headers.empty());
    }
  }
  SECTION("a tab in a part header value is fine") {
    Recorder r;
    MultipartReader reader("B1", r);
    std::string ok = "--B1\r\nContent-Type: text/plain;\tcharset=utf-8\r\n\r\ndata\r\n--B1--";
    REQUIRE(reader.feed(ok.data(), ok.size()).ok());
    CHECK(reader.finish().ok());
    REQUIRE(r.headers.size() == 1);
    CHECK(r.headers[0]["content-type"] == "text/plain;\tcharset=utf-8");
  }
  SECTION("the handler's refusal stops the parse and sticks") {
    Recorder r;
    r.refuse_after_bytes = 3;
    MultipartReader reader("B1", r);
    Status s = reader.feed(body.data(), body.size());
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == 413);
    CHECK(reader.feed("x", 1).error().code == 413);
    CHECK(reader.finish().error().code == 413);
  }
}

TEST_CASE("boundary parameter of the Content-Type") {
  CHECK(MultipartReader::boundary_of("multipart/mixed; boundary=Frontier123") == "Frontier123");
  CHECK(MultipartReader::boundary_of("Multipart/Mixed;boundary=\"a b\"") == "a b");
  CHECK(MultipartReader::boundary_of("multipart/mixed; boundary=abc; charset=x") == "abc");
  CHECK_FALSE(MultipartReader::boundary_of("application/json").has_value());
  CHECK_FALSE(MultipartReader::boundary_of("multipart/mixed").has_value());
  CHECK_FALSE(MultipartReader::boundary_of("multipart/mixed; boundary=").has_value());
  CHECK_FALSE(MultipartReader::boundary_of("multipart/mixed; boundary=" + std::string(71, 'a')).has_value());
}
