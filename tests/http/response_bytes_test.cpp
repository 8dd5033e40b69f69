// serialize_response writes, byte for byte, what Beast's message + serializer wrote for the same
// answer (the server's code before it), for every framing case: JSON, empty, 204/304/1xx with
// a stray body, HEAD, Connection: close, CORS fields replacing a handler's, unknown statuses;
// except that 1xx, 204 and 304 answers no longer carry a "Content-Length: 0".
// And what Beast never checked: no field can split the response, no handler field can frame it.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include <boost/beast/http.hpp>

#include "http/response_bytes.h"

namespace bhttp = boost::beast::http;
using wirebox::http::Response;
using wirebox::http::ResponseField;
using wirebox::http::serialize_response;

namespace {

// The server's former path: a bhttp::response with Server, Content-Type, the handler's fields
// and the CORS fields set, keep_alive(), prepare_payload(), the HEAD rule; Beast serialises it.
std::string beast_bytes(Response resp, const std::vector<ResponseField>& extra, bool head, bool keep_alive) {
  bhttp::response<bhttp::string_body> res(static_cast<bhttp::status>(resp.status), 11);
  res.set(bhttp::field::server, "wireboxd");
  if (!resp.content_type.empty()) res.set(bhttp::field::content_type, resp.content_type);
  for (auto& [k, v] : resp.headers) res.insert(k, v);
  for (auto& [k, v] : extra) res.set(k, v);
  int status_class = resp.status / 100;
  if (status_class == 1 || resp.status == 204 || resp.status == 304) resp.body.clear();
  res.body() = resp.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  if (head) {
    auto length = res.body().size();
    res.body().clear();
    if (status_class != 1 && resp.status != 204 && resp.status != 304) res.content_length(length);
  }
  // The one intended difference: Beast 1.74 wrote "Content-Length: 0" on 1xx, 204 and 304
  // answers, which RFC 9110 forbids (1xx, 204) or reserves for the representation's length (304).
  if (status_class == 1 || resp.status == 204 || resp.status == 304) res.erase(bhttp::field::content_length);
  std::ostringstream os;
  os << res;
  return os.str();
}

std::string our_bytes(const Response& resp, const std::vector<ResponseField>& extra, bool head, bool keep_alive) {
  std::string out = "left over from the previous response";
  serialize_response(resp, extra, head, keep_alive, out);
  return out;
}

Response make(int status, std::string body, std::string type = "application/json",
              std::vector<std::pair<std::string, std::string>> headers = {}) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(type);
  r.headers = std::move(headers);
  return r;
}

}  // namespace

TEST_CASE("the bytes are Beast's for every framing case") {
  const std::vector<ResponseField> cors = {{"Access-Control-Allow-Origin", "https://app.example"},
                                           {"Access-Control-Allow-Credentials", "true"},
                                           {"Access-Control-Expose-Headers", "Location, Request-Id, Date, Content-Range, ETag"},
                                           {"Vary", "Origin"}};
  const std::vector<Response> responses = {
      make(200, R"({"domain":"wirebox.localhost","supported":[8]})"),
      make(201, R"({"key":"3-2-x"})", "application/json", {{"Location", "/assets/d/3-2-x"}, {"Set-Cookie", "zuid=a; Secure"}}),
      make(200, "", ""),
      make(204, "null"),
      make(304, "stale", "application/json", {{"ETag", "\"abc\""}}),
      make(101, "x", ""),
      make(404, R"({"code":404,"label":"not-found","message":"Not found"})"),
      make(507, R"({"code":507})"),
      make(599, "odd"),
      make(200, "body", "text/plain", {{"Vary", "Accept-Encoding"}, {"Cache-Control", "no-store"}}),
      make(200, std::string(70000, 'x'), "application/octet-stream"),
  };
  for (const auto& resp : responses) {
    for (bool head : {false, true}) {
      for (bool keep_alive : {true, false}) {
        for (const auto* extra : {&cors, static_cast<const std::vector<ResponseField>*>(nullptr)}) {
          std::vector<ResponseField> fields = extra ? *extra : std::vector<ResponseField>{};
          CAPTURE(resp.status, resp.headers.size(), head, keep_alive, fields.size());
          CHECK(our_bytes(resp, fields, head, keep_alive) == beast_bytes(resp, fields, head, keep_alive));
        }
      }
    }
  }
}

TEST_CASE("no field splits the response and no handler field frames it") {
  Response r = make(200, "{}", "application/json",
                    {{"Location", "/a\r\nSet-Cookie: stolen=1"},
                     {"X-Bad\r\nName", "v"},
                     {"Content-Length", "999"},
                     {"transfer-encoding", "chunked"},
                     {"Connection", "keep-alive"},
                     {"ETag", "\"ok\""}});
  std::string out;
  serialize_response(r, {}, false, true, out);
  CHECK(out ==
        "HTTP/1.1 200 OK\r\nServer: wireboxd\r\nContent-Type: application/json\r\nETag: \"ok\"\r\n"
        "Content-Length: 2\r\n\r\n{}");
  r.content_type = "text/html\r\nX-Injected: 1";
  const std::vector<ResponseField> bad_extra = {{"Vary", "Origin\nX: 1"}};
  serialize_response(r, bad_extra, false, false, out);
  CHECK(out == "HTTP/1.1 200 OK\r\nServer: wireboxd\r\nETag: \"ok\"\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}");
}
