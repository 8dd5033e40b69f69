#include <catch2/catch.hpp>

#include "http/request.h"
#include "http/router.h"

using namespace wirebox;
using namespace std::string_literals;

TEST_CASE("url_decode", "[request]") {
  CHECK(http::url_decode("") == "");
  CHECK(http::url_decode("abc") == "abc");
  CHECK(http::url_decode("a%20b") == "a b");
  CHECK(http::url_decode("a+b") == "a b");  // form encoding, as in query strings
  CHECK(http::url_decode("%41%62%7e") == "Ab~");
  CHECK(http::url_decode("%e2%9c%93") == "\xe2\x9c\x93");
  CHECK(http::url_decode("%00") == "\0"s);
  CHECK(http::url_decode("%2B") == "+");
  // Malformed escapes are kept literally.
  CHECK(http::url_decode("%") == "%");
  CHECK(http::url_decode("%4") == "%4");
  CHECK(http::url_decode("a%2") == "a%2");
  CHECK(http::url_decode("%zz") == "%zz");
  CHECK(http::url_decode("%%41") == "%A");
}

TEST_CASE("parse_query", "[request]") {
  auto q = http::parse_query("a=1&b=%20x&c&=v&&d=a+b%2Bc&a=2&e=x=y");
  CHECK(q.at("a") == "2");  // later duplicates win
  CHECK(q.at("b") == " x");
  CHECK(q.at("c") == "");
  CHECK(q.at("") == "v");
  CHECK(q.at("d") == "a b+c");
  CHECK(q.at("e") == "x=y");
  CHECK(q.size() == 6);
  CHECK(http::parse_query("").empty());
  CHECK(http::parse_query("&&&").empty());
  CHECK(http::parse_query("k%26ey=v%3Dal").at("k&ey") == "v=al");
}

TEST_CASE("Request accessors", "[request]") {
  http::Request req;
  req.headers.set("Content-Type", "application/json");
  req.query["size"] = "10";
  req.params["uid"] = "abc";
  CHECK(req.header("content-type") == "application/json");  // case-insensitive
  CHECK(req.header("CONTENT-TYPE") == "application/json");
  CHECK(req.header("X-Missing").empty());
  CHECK(req.query_param("size") == std::optional<std::string>("10"));
  CHECK_FALSE(req.query_param("start").has_value());
  CHECK(req.param("uid") == "abc");
  CHECK_THROWS_AS(req.param("nope"), std::out_of_range);
}

TEST_CASE("Request::json_object", "[request]") {
  http::Request req;
  SECTION("an empty or blank body is an empty object") {
    for (const char* b : {"", "  \r\n\t"}) {
      req.body = b;
      auto j = req.json_object();
      REQUIRE(j.ok());
      CHECK(j.value() == nlohmann::json::object());
    }
  }
  SECTION("an object parses") {
    req.body = R"({"email":"a@b.c","n":1})";
    auto j = req.json_object();
    REQUIRE(j.ok());
    CHECK(j.value()["email"] == "a@b.c");
    CHECK(j.value()["n"] == 1);
  }
  SECTION("malformed JSON is a 400") {
    for (const char* b : {"{", "{\"a\":}", "nul", "{} trailing"}) {
      CAPTURE(b);
      req.body = b;
      auto j = req.json_object();
      REQUIRE_FALSE(j.ok());
      CHECK(j.error().code == 400);
      CHECK(j.error().label == "bad-request");
    }
  }
  SECTION("a non-object is a 400") {
    for (const char* b : {"[]", "1", "\"s\"", "null"}) {
      CAPTURE(b);
      req.body = b;
      auto j = req.json_object();
      REQUIRE_FALSE(j.ok());
      CHECK(j.error().code == 400);
    }
  }
}

TEST_CASE("response builders", "[request]") {
  auto r = http::json_response(201, {{"id", "x"}});
  CHECK(r.status == 201);
  CHECK(r.content_type == "application/json");
  CHECK(nlohmann::json::parse(r.body) == nlohmann::json{{"id", "x"}});

  auto e = http::error_response(ApiError::not_found("No such user"));
  CHECK(e.status == 404);
  CHECK(e.content_type == "application/json");
  CHECK(nlohmann::json::parse(e.body) ==
        nlohmann::json{{"code", 404}, {"label", "not-found"}, {"message", "No such user"}});

  auto empty = http::empty_response(204).with_header("Location", "/x");
  CHECK(empty.status == 204);
  CHECK(empty.body.empty());
  CHECK(empty.content_type.empty());
  REQUIRE(empty.headers.size() == 1);
  CHECK(empty.headers[0] == std::make_pair(std::string("Location"), std::string("/x")));
}

TEST_CASE("split_target strips the /vN prefix and splits the query", "[request]") {
  struct Case {
    const char* target;
    const char* path;
    int version;
  };
  const Case cases[] = {
      {"/self", "/self", 0},
      {"/v8/self", "/self", 8},
      {"/v8/self?x=1", "/self", 8},
      {"/v12/users/a/b", "/users/a/b", 12},
      {"/v0/x", "/x", 0},
      {"/v8", "/", 8},
      {"/v8/", "/", 8},
      {"/v8?x=1", "/", 8},
      {"/v1234/x", "/v1234/x", 0},  // not a version we could serve
      {"/vx/self", "/vx/self", 0},
      {"/v8abc/self", "/v8abc/self", 0},
      {"/versions", "/versions", 0},
      {"/self/v8/x", "/self/v8/x", 0},
      {"/users/a%20b", "/users/a b", 0},
      {"/", "/", 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.target);
    http::Request req;
    http::split_target(c.target, req);
    CHECK(req.path == c.path);
    CHECK(req.api_version == c.version);
  }
  http::Request req;
  http::split_target("/v8/search/contacts?q=alice+smith&size=10", req);
  CHECK(req.path == "/search/contacts");
  CHECK(req.query.at("q") == "alice smith");
  CHECK(req.query.at("size") == "10");
}

TEST_CASE("split_target keeps '+' literal in the path", "[request]") {
  // '+' means space only in form-encoded query strings, not in a URL path (RFC 3986).
  http::Request req;
  http::split_target("/v8/users/handles/a+b?q=a+b", req);
  CHECK(req.path == "/users/handles/a+b");
  CHECK(req.query.at("q") == "a b");
}
