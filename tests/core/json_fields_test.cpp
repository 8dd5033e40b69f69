#include <catch2/catch.hpp>

#include <string>

#include "core/json_fields.h"

using wirebox::json_fields::kMaxDepth;
using wirebox::json_fields::parse_untrusted;

namespace {
std::string nested(int depth, const std::string& inner = "1") {
  return std::string(static_cast<size_t>(depth), '[') + inner + std::string(static_cast<size_t>(depth), ']');
}
}  // namespace

TEST_CASE("parse_untrusted: nesting up to kMaxDepth parses, deeper is discarded") {
  CHECK_FALSE(parse_untrusted(nested(kMaxDepth)).is_discarded());
  CHECK(parse_untrusted(nested(kMaxDepth + 1)).is_discarded());
  CHECK(parse_untrusted(R"({"a":{"b":[{"c":[]}]}})")["a"]["b"][0]["c"].is_array());
  CHECK(parse_untrusted("{not json").is_discarded());
}

TEST_CASE("parse_untrusted: brackets inside strings, escaped quotes included, do not count") {
  std::string inner = R"("[[[[ \" {{{{ \\")";
  auto j = parse_untrusted(nested(kMaxDepth - 1, std::string(200, ' ') + inner));
  REQUIRE_FALSE(j.is_discarded());
  CHECK(parse_untrusted(nested(kMaxDepth, R"("\"[")")).is_discarded() == false);
}
