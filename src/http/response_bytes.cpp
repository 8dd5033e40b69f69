#include "http/response_bytes.h"

#include <charconv>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>

namespace wirebox::http {
namespace {

bool same_name(std::string_view a, std::string_view b) { return boost::beast::iequals(a, b); }

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

void append_number(std::string& out, uint64_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

}  // namespace

bool splits_response(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

void serialize_response(const Response& response, std::span<const ResponseField> extra, bool head_request,
                        bool keep_alive, std::string& out) {
  const int status = response.status;
  const bool bodiless = status / 100 == 1 || status == 204 || status == 304;
  out.clear();
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<uint64_t>(status));
  out.push_back(' ');
  auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  out.append(reason.data(), reason.size());
  out.append("\r\n");
  append_field(out, "Server", "wireboxd");
  if (!response.content_type.empty() && !splits_response(response.content_type))
    append_field(out, "Content-Type", response.content_type);
  for (const auto& [name, value] : response.headers) {
    if (same_name(name, "Content-Length") || same_name(name, "Transfer-Encoding") || same_name(name, "Connection"))
      continue;
    bool replaced = false;
    for (const auto& field : extra) replaced = replaced || same_name(name, field.first);
    if (replaced || splits_response(name) || splits_response(value)) continue;
    append_field(out, name, value);
  }
  for (const auto& [name, value] : extra)
    if (!splits_response(name) && !splits_response(value)) append_field(out, name, value);
  if (!keep_alive) append_field(out, "Connection", "close");
  if (!bodiless) {
    out.append("Content-Length: ");
    append_number(out, response.body.size());
    out.append("\r\n");
  }
  out.append("\r\n");
  if (!bodiless && !head_request) out.append(response.body);
}

}  // namespace wirebox::http
