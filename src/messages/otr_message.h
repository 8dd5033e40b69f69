// OtrMessage: the decoded envelope of a QualifiedNewOtrMessage (protobuf) as the server needs
// it. The ciphertexts stay opaque bytes: never parsed, never logged. Parsing is separate from
// the HTTP handler so it can be tested and fuzzed alone. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/api_error.h"

namespace wirebox::messages {

enum class MismatchStrategy { kReportAll, kIgnoreAll, kReportOnly, kIgnoreOnly };

struct QualifiedUser {
  std::string id;  // lowercase UUID
  std::string domain;
};

struct RecipientEntry {
  std::string domain;
  std::string user_id;    // lowercase UUID
  std::string client_id;  // canonical hex
  std::string ciphertext;
};

struct OtrMessage {
  std::string sender_client;  // canonical hex
  std::vector<RecipientEntry> recipients;
  std::optional<std::string> blob;  // external payload, opaque
  bool transient = false;
  MismatchStrategy strategy = MismatchStrategy::kReportAll;
  std::vector<QualifiedUser> strategy_users;  // for report_only / ignore_only
};

// 400 for anything that isn't a well-formed message: bad protobuf, a user id that isn't 16
// bytes, a client id of 0, no mismatch strategy (wire-server rejects those too).
Result<OtrMessage> decode_otr_message(std::string_view bytes);

// Encodes (tests and our own tools; the official client does this itself).
std::string encode_otr_message(const OtrMessage& message);

// Canonical client id text for a protobuf uint64.
std::string client_id_text(uint64_t id);

}  // namespace wirebox::messages
