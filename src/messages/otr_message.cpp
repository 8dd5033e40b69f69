#include "messages/otr_message.h"

#include <cstdio>

#include "core/ids.h"
#include "otr.pb.h"

namespace wirebox::messages {
namespace {

std::string uuid_from_bytes(const std::string& b) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    unsigned char c = static_cast<unsigned char>(b[i]);
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

std::string uuid_to_bytes(const std::string& uuid) {
  std::string out;
  for (size_t i = 0; i + 1 < uuid.size(); ++i) {
    if (uuid[i] == '-') continue;
    out.push_back(static_cast<char>(std::stoi(uuid.substr(i, 2), nullptr, 16)));
    ++i;
  }
  return out;
}

Result<std::vector<QualifiedUser>> users_of(const google::protobuf::RepeatedPtrField<proteus::QualifiedUserId>& ids) {
  std::vector<QualifiedUser> out;
  for (const auto& q : ids) {
    auto id = normalize_uuid(q.id());
    if (!id) return ApiError::bad_request("Invalid user id in mismatch strategy");
    out.push_back({*id, q.domain()});
  }
  return out;
}

}  // namespace

std::string client_id_text(uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(id));
  return buf;
}

Result<OtrMessage> decode_otr_message(std::string_view bytes) {
  proteus::QualifiedNewOtrMessage pb;
  if (!pb.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return ApiError{400, "bad-request", "Invalid QualifiedNewOtrMessage"};
  OtrMessage m;
  if (pb.sender().client() == 0) return ApiError::bad_request("Invalid sender client id");
  m.sender_client = client_id_text(pb.sender().client());
  for (const auto& entry : pb.recipients()) {
    for (const auto& ue : entry.entries()) {
      if (ue.user().uuid().size() != 16) return ApiError::bad_request("Invalid recipient user id");
      std::string uid = uuid_from_bytes(ue.user().uuid());
      for (const auto& ce : ue.clients()) {
        if (ce.client().client() == 0) return ApiError::bad_request("Invalid recipient client id");
        m.recipients.push_back({entry.domain(), uid, client_id_text(ce.client().client()), ce.text()});
      }
    }
  }
  if (pb.has_blob()) m.blob = pb.blob();
  m.transient = pb.transient();
  switch (pb.client_mismatch_strategy_case()) {
    case proteus::QualifiedNewOtrMessage::kReportAll: m.strategy = MismatchStrategy::kReportAll; break;
    case proteus::QualifiedNewOtrMessage::kIgnoreAll: m.strategy = MismatchStrategy::kIgnoreAll; break;
    case proteus::QualifiedNewOtrMessage::kReportOnly: {
      m.strategy = MismatchStrategy::kReportOnly;
      auto users = users_of(pb.report_only().user_ids());
      if (!users) return users.error();
      m.strategy_users = std::move(users.value());
      break;
    }
    case proteus::QualifiedNewOtrMessage::kIgnoreOnly: {
      m.strategy = MismatchStrategy::kIgnoreOnly;
      auto users = users_of(pb.ignore_only().user_ids());
      if (!users) return users.error();
      m.strategy_users = std::move(users.value());
      break;
    }
    case proteus::QualifiedNewOtrMessage::CLIENT_MISMATCH_STRATEGY_NOT_SET:
      return ApiError::bad_request("ClientMismatchStrategy not specified!");
  }
  return m;
}

std::string encode_otr_message(const OtrMessage& m) {
  proteus::QualifiedNewOtrMessage pb;
  pb.mutable_sender()->set_client(std::stoull(m.sender_client, nullptr, 16));
  for (const auto& r : m.recipients) {
    proteus::QualifiedUserEntry* qe = nullptr;
    for (auto& existing : *pb.mutable_recipients())
      if (existing.domain() == r.domain) qe = &existing;
    if (!qe) {
      qe = pb.add_recipients();
      qe->set_domain(r.domain);
    }
    proteus::UserEntry* ue = nullptr;
    std::string ub = uuid_to_bytes(r.user_id);
    for (auto& existing : *qe->mutable_entries())
      if (existing.user().uuid() == ub) ue = &existing;
    if (!ue) {
      ue = qe->add_entries();
      ue->mutable_user()->set_uuid(ub);
    }
    auto* ce = ue->add_clients();
    ce->mutable_client()->set_client(std::stoull(r.client_id, nullptr, 16));
    ce->set_text(r.ciphertext);
  }
  if (m.blob) pb.set_blob(*m.blob);
  if (m.transient) pb.set_transient(true);
  auto fill = [&](auto* list) {
    for (const auto& u : m.strategy_users) {
      auto* q = list->add_user_ids();
      q->set_id(u.id);
      q->set_domain(u.domain);
    }
  };
  switch (m.strategy) {
    case MismatchStrategy::kReportAll: pb.mutable_report_all(); break;
    case MismatchStrategy::kIgnoreAll: pb.mutable_ignore_all(); break;
    case MismatchStrategy::kReportOnly: fill(pb.mutable_report_only()); break;
    case MismatchStrategy::kIgnoreOnly: fill(pb.mutable_ignore_only()); break;
  }
  return pb.SerializeAsString();
}

}  // namespace wirebox::messages
