// serialize_response: an HTTP/1.1 response with an in-memory body, as the bytes that go on the
// wire, appended by hand to one string the connection reuses from response to response.
//
// Why not a Beast message and serializer: for the small JSON answers that make up most of the
// API, building a bhttp::response (a field list with allocations of its own), preparing it and
// running Beast's serializer (buffers_cat / buffers_prefix / buffers_suffix views, then a copy
// into the stream's write buffer) cost more user-space instructions than the TLS record that
// carries the answer (callgrind, docs/benchmarks.md "Findings"). File bodies still go through
// Beast (src/http/file_body.h); only the 100 Continue interim answer is written elsewhere.
//
// The bytes are the ones Beast wrote for the same answer (tests/http/response_bytes_test.cpp
// compares them): "HTTP/1.1 <status> <reason>", then Server, Content-Type (when set), the
// handler's fields in order, the `extra` fields (CORS), "Connection: close" when the connection
// is not kept alive, and Content-Length, which is the body's size except for 1xx, 204 and 304
// answers: those have no body and, unlike Beast's "Content-Length: 0", no length (RFC 9110
// 8.6 forbids it on 1xx and 204; on a 304 it would have to be the representation's length).
// A HEAD answer has the length the GET would have and no body.
// Dropped, because the framing is this function's alone: a handler field named Content-Length,
// Transfer-Encoding or Connection, one named like an `extra` field (which replaces it, as
// Beast's set() did), and any field whose name or value holds CR or LF (it would split the
// response). Thread safety: a pure function.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "http/request.h"

namespace wirebox::http {

using ResponseField = std::pair<std::string_view, std::string_view>;

// True if a header name or value holds CR or LF: written as is, it would end the field early
// and start a line of its own (a forged header, or the body). Beast 1.74's field setters do not
// check; every answer's fields are filtered with this.
bool splits_response(std::string_view s);

// Replaces `out` with the whole response: head, then body bytes unless `head_request`.
void serialize_response(const Response& response, std::span<const ResponseField> extra, bool head_request,
                        bool keep_alive, std::string& out);

}  // namespace wirebox::http
