#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "http/router.h"

using namespace wirebox;
using http::Access;
using http::Request;
using http::Response;
using http::Verb;

namespace {

Request make(Verb method, const std::string& target) {
  Request req;
  req.method = method;
  http::split_target(target, req);
  return req;
}

// Matches and invokes like the server does; 404/405 as the server answers them.
Response dispatch(const http::Router& router, Request& req) {
  auto m = router.match(req);
  if (!m.route) return http::empty_response(m.path_known ? 405 : 404);
  return router.invoke(*m.route, req);
}

Response text(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

nlohmann::json body_json(const Response& r) { return nlohmann::json::parse(r.body); }

}  // namespace

TEST_CASE("Router matches literal segments and captures", "[router]") {
  http::Router router;
  router.add(Verb::get, "/self", Access::kPublic, [](Request&) { return text("self"); });
  router.add(Verb::get, "/users/{domain}/{uid}", Access::kPublic,
             [](Request& r) { return text("user " + r.param("domain") + " " + r.param("uid")); });
  router.add(Verb::get, "/users/{domain}/{uid}/clients", Access::kPublic,
             [](Request& r) { return text("clients of " + r.param("uid")); });
  router.add(Verb::put, "/users/{domain}/{uid}", Access::kPublic, [](Request&) { return text("put"); });

  auto run = [&](Verb v, const std::string& target) {
    Request req = make(v, target);
    return dispatch(router, req);
  };
  CHECK(run(Verb::get, "/self").body == "self");
  CHECK(run(Verb::get, "/v8/self").body == "self");
  CHECK(run(Verb::get, "/self/").body == "self");
  CHECK(run(Verb::get, "/v8/users/example.com/u1").body == "user example.com u1");
  CHECK(run(Verb::get, "/users/a%20b/u%2F1").body == "user a b u/1");
  CHECK(run(Verb::get, "/v8/users/example.com/u1/clients").body == "clients of u1");
  CHECK(run(Verb::put, "/users/example.com/u1").body == "put");

  Request req = make(Verb::get, "/users/d/u");
  REQUIRE(router.match(req).route);
  CHECK(req.params.size() == 2);
  CHECK(req.param("domain") == "d");
}

TEST_CASE("Router distinguishes unknown paths (404) from wrong methods (405)", "[router]") {
  http::Router router;
  router.add(Verb::get, "/users/{uid}", Access::kPublic, [](Request&) { return text("get"); });
  router.add(Verb::post, "/login", Access::kPublic, [](Request&) { return text("login"); });

  Request a = make(Verb::get, "/nothing/here");
  auto ma = router.match(a);
  CHECK(ma.route == nullptr);
  CHECK_FALSE(ma.path_known);

  Request b = make(Verb::delete_, "/users/x");
  auto mb = router.match(b);
  CHECK(mb.route == nullptr);
  CHECK(mb.path_known);

  Request c = make(Verb::get, "/login");
  CHECK(router.match(c).path_known);

  Request d = make(Verb::get, "/users/x/extra");  // more segments than any route
  CHECK_FALSE(router.match(d).path_known);
  Request e = make(Verb::get, "/");
  CHECK_FALSE(router.match(e).route);
}

TEST_CASE("Router prefers the first registered route and keeps looking past method mismatches", "[router]") {
  http::Router router;
  router.add(Verb::get, "/users/handles", Access::kPublic, [](Request&) { return text("literal"); });
  router.add(Verb::get, "/users/{uid}", Access::kPublic, [](Request&) { return text("capture"); });
  router.add(Verb::post, "/users/{uid}", Access::kPublic, [](Request&) { return text("post capture"); });
  Request a = make(Verb::get, "/users/handles");
  CHECK(dispatch(router, a).body == "literal");
  Request b = make(Verb::get, "/users/alice");
  CHECK(dispatch(router, b).body == "capture");
  Request c = make(Verb::post, "/users/handles");  // the literal GET route does not hide the POST one
  CHECK(dispatch(router, c).body == "post capture");
}

TEST_CASE("Access::kUser routes require a verified access token", "[router]") {
  http::Router router;
  router.add(Verb::get, "/self", Access::kUser,
             [](Request& r) { return text(r.identity.user_id + "/" + r.identity.client_id); });
  router.set_token_verifier([](std::string_view token) -> Result<http::Identity> {
    if (token == "good") return http::Identity{"user-1", "c1"};
    if (token == "boom") throw std::runtime_error("verifier crashed");
    return ApiError{401, "invalid-credentials", "Invalid token"};
  });

  auto run = [&](const std::string& target, const std::string& auth) {
    Request req = make(Verb::get, target);
    if (!auth.empty()) req.headers.set("Authorization", auth);
    return dispatch(router, req);
  };

  SECTION("missing token → 401 JSON") {
    auto r = run("/v8/self", "");
    CHECK(r.status == 401);
    CHECK(r.content_type == "application/json");
    CHECK(body_json(r)["code"] == 401);
    CHECK(body_json(r)["label"] == "missing-auth");
  }
  SECTION("non-bearer or empty Authorization counts as missing") {
    CHECK(run("/self", "Basic dXNlcjpwYXNz").status == 401);
    CHECK(run("/self", "Bearer ").status == 401);
    CHECK(run("/self", "Bearergood").status == 401);
  }
  SECTION("a valid bearer token sets the identity") {
    auto r = run("/self", "Bearer good");
    CHECK(r.status == 200);
    CHECK(r.body == "user-1/c1");
    CHECK(run("/self", "bearer good").body == "user-1/c1");
  }
  SECTION("access_token query parameter (websocket/asset URLs)") {
    CHECK(run("/self?access_token=good", "").body == "user-1/c1");
    CHECK(run("/self?access_token=bad", "").status == 401);
  }
  SECTION("the verifier's error is answered as is") {
    auto r = run("/self", "Bearer expired");
    CHECK(r.status == 401);
    CHECK(body_json(r)["label"] == "invalid-credentials");
    CHECK(body_json(r)["message"] == "Invalid token");
  }
  SECTION("a throwing verifier is a 500, not a crash") {
    auto r = run("/self", "Bearer boom");
    CHECK(r.status == 500);
    CHECK(body_json(r)["label"] == "server-error");
  }
  SECTION("public routes ignore tokens") {
    router.add(Verb::get, "/open", Access::kPublic, [](Request& r) { return text("[" + r.identity.user_id + "]"); });
    CHECK(run("/open", "").body == "[]");
  }
}

TEST_CASE("Access::kUser without a token verifier is a 500", "[router]") {
  http::Router router;
  router.add(Verb::get, "/self", Access::kUser, [](Request&) { return text("never"); });
  Request req = make(Verb::get, "/self");
  req.headers.set("Authorization", "Bearer x");
  auto r = dispatch(router, req);
  CHECK(r.status == 500);
  CHECK(r.body != "never");
}

TEST_CASE("handler exceptions become a 500 JSON error", "[router]") {
  http::Router router;
  router.add(Verb::get, "/std", Access::kPublic, [](Request&) -> Response { throw std::runtime_error("db gone"); });
  router.add(Verb::get, "/int", Access::kPublic, [](Request&) -> Response { throw 42; });
  router.add(Verb::get, "/json", Access::kPublic,
             [](Request& r) -> Response { return text(nlohmann::json::parse(r.body).dump()); });
  for (const char* target : {"/std", "/int", "/json"}) {
    CAPTURE(target);
    Request req = make(Verb::get, target);
    req.body = "{not json";
    Response r;
    REQUIRE_NOTHROW(r = dispatch(router, req));
    CHECK(r.status == 500);
    CHECK(r.content_type == "application/json");
    auto j = body_json(r);
    CHECK(j["code"] == 500);
    CHECK(j["label"] == "server-error");
    CHECK(j["message"].is_string());
    CHECK(j["message"] != "db gone");  // internal details are not leaked
  }
}
