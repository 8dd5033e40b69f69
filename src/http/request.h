// Request/Response as handlers see them: decoded path (API version prefix stripped), query
// parameters, path captures, the decompressed body and, for authenticated routes, who is
// calling. Handlers build a Response; the server adds CORS, keep-alive and Content-Length.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include "core/api_error.h"

namespace wirebox::http {

using Verb = boost::beast::http::verb;

// Who is calling, from a verified access token.
struct Identity {
  std::string user_id;
  std::string client_id;  // empty unless the token is bound to a client
  int64_t expires_at = 0;  // Unix seconds when the token expires; 0 = not known
};

struct Request {
  Verb method = Verb::get;
  std::string path;  // "/self" for "/v8/self?x=1", percent-decoded
  // The same path still percent-encoded. The router splits this one into segments before
  // decoding them, so an encoded "/" ("%2F") stays inside its segment. Empty when a Request is
  // built by hand: the router then splits `path`.
  std::string raw_path;
  int api_version = 0;  // 8 for "/v8/...", 0 when unprefixed
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> params;  // captures from "{name}" route segments
  boost::beast::http::fields headers;
  std::string body;  // decompressed
  std::string remote_address;
  Identity identity;  // set for Access::kUser routes

  std::string_view header(std::string_view name) const;
  std::optional<std::string> query_param(const std::string& name) const;
  const std::string& param(const std::string& name) const { return params.at(name); }

  // Parses the body as a JSON object. An empty body yields an empty object (the official
  // client sends empty bodies with a JSON content type). Malformed JSON → 400 bad-request.
  Result<nlohmann::json> json_object() const;
};

// An open file descriptor, closed when the last owner lets go.
class OpenFile {
 public:
  explicit OpenFile(int fd) : fd_(fd) {}
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// A byte range of a file to answer with (see file_body.h).
struct FileSlice {
  std::shared_ptr<const OpenFile> file;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the response body is this file range, streamed; `body` is ignored.
  std::optional<FileSlice> file;

  Response& with_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

Response json_response(int status, const nlohmann::json& body);
Response error_response(const ApiError& error);
Response empty_response(int status);

// Splits "a=1&b=%20x" into decoded pairs; later duplicates win.
std::map<std::string, std::string> parse_query(std::string_view query);
// Percent-decodes; '+' becomes a space only when plus_is_space (query strings, form encoding),
// never in a path.
std::string url_decode(std::string_view s, bool plus_is_space = true);

}  // namespace wirebox::http
