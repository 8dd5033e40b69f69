// MultipartReader: an incremental (push) parser for a multipart body (RFC 2046), fed in
// whatever pieces the network delivers, so an upload of any size needs a buffer of about one
// piece (in a part's body, of a delimiter's length: body bytes are handed on from the piece).
// It reports each part's headers, its bytes and its end to a PartHandler, which may refuse
// (stopping the parse with its error). Strict where Wire's client is exact: the first
// delimiter must come within a short preamble, header blocks are bounded, and finish() fails
// unless the closing delimiter was seen. Not thread-safe; one reader per body.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/api_error.h"

namespace wirebox::assets {

class PartHandler {
 public:
  virtual ~PartHandler() = default;
  // Header names are lowercased, values trimmed.
  virtual Status begin_part(const std::map<std::string, std::string>& headers) = 0;
  virtual Status part_data(const char* data, size_t size) = 0;
  virtual Status end_part() = 0;
};

class MultipartReader {
 public:
  MultipartReader(std::string boundary, PartHandler& handler);
  // Feeds the next piece; the first error (malformed body or the handler's) is returned and
  // every later call returns it again.
  Status feed(const char* data, size_t size);
  // The body ended: ok only if the closing delimiter was seen.
  Status finish();

  // The boundary parameter of a "multipart/<subtype>; boundary=..." Content-Type; nullopt if
  // it is not multipart or the boundary is missing/invalid (RFC 2046: 1-70 characters).
  static std::optional<std::string> boundary_of(std::string_view content_type);

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kDone };
  Status step();
  Status feed_body(const char* data, size_t size);
  Status fail(ApiError e);

  std::string delimiter_;  // "\r\n--" + boundary
  PartHandler& handler_;
  State state_ = State::kPreamble;
  std::string pending_;  // bytes received but not yet consumed
  size_t preamble_seen_ = 0;
  std::optional<ApiError> error_;
};

}  // namespace wirebox::assets
