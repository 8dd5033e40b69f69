#include "assets/multipart_reader.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace wirebox::assets {
namespace {

constexpr size_t kMaxPreambleBytes = 1024;
constexpr size_t kMaxHeaderBlockBytes = 8192;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

ApiError malformed(std::string message) { return ApiError::bad_request("Malformed multipart body: " + message); }

// A bare CR or LF (or another control character) inside a part header line: lines are split
// on CRLF only, so such a value would be kept whole, and a Content-Type holding one would later
// forge header lines in the asset's download answer. Tabs are allowed (RFC 9110 field values).
bool has_control_char(std::string_view line) {
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return true;
  }
  return false;
}

}  // namespace

MultipartReader::MultipartReader(std::string boundary, PartHandler& handler)
    : delimiter_("\r\n--" + boundary), handler_(handler) {
  // The first delimiter opens the body without a preceding line break: pretend there was one
  // so every delimiter looks the same.
  pending_ = "\r\n";
}

Status MultipartReader::fail(ApiError e) {
  error_ = e;
  return e;
}

Status MultipartReader::feed(const char* data, size_t size) {
  if (error_) return *error_;
  if (state_ == State::kDone) return Status::Ok();  // epilogue: ignored
  if (state_ == State::kBody && size >= delimiter_.size()) return feed_body(data, size);
  pending_.append(data, size);
  return step();
}

// In a part's body, pending_ holds at most a delimiter's length less one (a tail that could
// begin one). The piece is searched where it lies and its data handed on from there: copying
// every body byte into pending_ first cost a memcpy per byte of every upload.
Status MultipartReader::feed_body(const char* data, size_t size) {
  if (!pending_.empty()) {
    // A delimiter could start in the kept tail and end in this piece.
    std::string seam = pending_;
    seam.append(data, delimiter_.size() - 1);
    size_t at = seam.find(delimiter_);
    if (at != std::string::npos && at < pending_.size()) {
      pending_.append(data, size);
      return step();
    }
    if (Status s = handler_.part_data(pending_.data(), pending_.size()); !s) return fail(s.error());
    pending_.clear();
  }
  size_t at = std::string_view(data, size).find(delimiter_);
  if (at == std::string_view::npos) {
    size_t keep = delimiter_.size() - 1;
    if (Status s = handler_.part_data(data, size - keep); !s) return fail(s.error());
    pending_.assign(data + size - keep, keep);
    return Status::Ok();
  }
  if (at > 0) {
    if (Status s = handler_.part_data(data, at); !s) return fail(s.error());
  }
  size_t after = at + delimiter_.size();
  pending_.assign(data + after, size - after);
  if (Status s = handler_.end_part(); !s) return fail(s.error());
  state_ = State::kAfterDelimiter;
  return step();
}

Status MultipartReader::step() {
  for (;;) {
    switch (state_) {
      case State::kPreamble: {
        size_t at = pending_.find(delimiter_);
        if (at == std::string::npos) {
          size_t keep = std::min(pending_.size(), delimiter_.size() - 1);
          preamble_seen_ += pending_.size() - keep;
          pending_.erase(0, pending_.size() - keep);
          if (preamble_seen_ > kMaxPreambleBytes) return fail(malformed("boundary not found"));
          return Status::Ok();
        }
        pending_.erase(0, at + delimiter_.size());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kAfterDelimiter: {
        if (pending_.size() < 2) return Status::Ok();
        if (pending_.compare(0, 2, "--") == 0) {
          state_ = State::kDone;
          pending_.clear();
          return Status::Ok();
        }
        if (pending_.compare(0, 2, "\r\n") != 0) return fail(malformed("bad delimiter line"));
        pending_.erase(0, 2);
        state_ = State::kHeaders;
        break;
      }
      case State::kHeaders: {
        size_t end;
        size_t block;
        if (pending_.compare(0, 2, "\r\n") == 0) {
          end = 0;
          block = 2;
        } else {
          end = pending_.find("\r\n\r\n");
          if (end == std::string::npos) {
            if (pending_.size() > kMaxHeaderBlockBytes) return fail(malformed("part headers too large"));
            return Status::Ok();
          }
          block = end + 4;
        }
        if (end > kMaxHeaderBlockBytes) return fail(malformed("part headers too large"));
        std::map<std::string, std::string> headers;
        std::string_view lines(pending_.data(), end);
        while (!lines.empty()) {
          size_t eol = lines.find("\r\n");
          std::string_view line = lines.substr(0, eol);
          lines = eol == std::string_view::npos ? std::string_view() : lines.substr(eol + 2);
          size_t colon = line.find(':');
          if (colon == std::string_view::npos || colon == 0 || has_control_char(line))
            return fail(malformed("bad part header"));
          headers[lower(trim(line.substr(0, colon)))] = std::string(trim(line.substr(colon + 1)));
        }
        pending_.erase(0, block);
        if (Status s = handler_.begin_part(headers); !s) return fail(s.error());
        state_ = State::kBody;
        break;
      }
      case State::kBody: {
        size_t at = pending_.find(delimiter_);
        if (at == std::string::npos) {
          // Everything except a tail that could be the start of a delimiter is part data.
          size_t keep = std::min(pending_.size(), delimiter_.size() - 1);
          size_t emit = pending_.size() - keep;
          if (emit > 0) {
            if (Status s = handler_.part_data(pending_.data(), emit); !s) return fail(s.error());
            pending_.erase(0, emit);
          }
          return Status::Ok();
        }
        if (at > 0) {
          if (Status s = handler_.part_data(pending_.data(), at); !s) return fail(s.error());
        }
        pending_.erase(0, at + delimiter_.size());
        if (Status s = handler_.end_part(); !s) return fail(s.error());
        state_ = State::kAfterDelimiter;
        break;
      }
      case State::kDone:
        return Status::Ok();
    }
  }
}

Status MultipartReader::finish() {
  if (error_) return *error_;
  if (state_ != State::kDone) return fail(malformed("body ended before the closing boundary"));
  return Status::Ok();
}

std::optional<std::string> MultipartReader::boundary_of(std::string_view content_type) {
  std::string lowered = lower(content_type);
  if (lowered.compare(0, 10, "multipart/") != 0) return std::nullopt;
  size_t at = lowered.find("boundary=");
  if (at == std::string::npos) return std::nullopt;
  std::string_view value = content_type.substr(at + 9);
  value = value.substr(0, value.find(';'));
  value = trim(value);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  if (value.empty() || value.size() > 70) return std::nullopt;
  for (char c : value)
    if (c == '\r' || c == '\n') return std::nullopt;
  return std::string(value);
}

}  // namespace wirebox::assets
