#include "conversations/conversation_json.h"

#include "core/time.h"

namespace wirebox::conversations {

using nlohmann::json;

namespace {

json opt(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
json opt(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }

json self_member_json(const Member& m, const std::string& domain) {
  return {{"id", m.user_id},
          {"qualified_id", qualified(m.user_id, domain)},
          {"conversation_role", m.role},
          {"service", nullptr},
          {"hidden", m.state.hidden},
          {"hidden_ref", opt(m.state.hidden_ref)},
          {"otr_muted_status", opt(m.state.otr_muted_status)},
          {"otr_muted_ref", opt(m.state.otr_muted_ref)},
          {"otr_archived", m.state.otr_archived},
          {"otr_archived_ref", opt(m.state.otr_archived_ref)},
          {"status", 0},
          {"status_ref", "0.0"},
          {"status_time", "1970-01-01T00:00:00.000Z"}};
}

}  // namespace

json qualified(const std::string& id, const std::string& domain) { return {{"id", id}, {"domain", domain}}; }

json other_member_json(const Member& m, const std::string& domain) {
  return {{"id", m.user_id}, {"qualified_id", qualified(m.user_id, domain)}, {"conversation_role", m.role},
          {"status", 0}};
}

json conversation_json(const Conversation& conv, const std::string& viewer, const std::string& domain) {
  json self = nullptr;
  json others = json::array();
  for (const auto& m : conv.members) {
    if (m.user_id == viewer) self = self_member_json(m, domain);
    else others.push_back(other_member_json(m, domain));
  }
  return {{"id", conv.id},
          {"qualified_id", qualified(conv.id, domain)},
          {"type", static_cast<int>(conv.type)},
          {"creator", conv.creator},
          {"name", opt(conv.name)},
          {"access", conv.access},
          {"access_role", conv.access_role},
          {"members", {{"self", self}, {"others", others}}},
          {"team", conv.team_id.empty() ? json(nullptr) : json(conv.team_id)},
          {"message_timer", opt(conv.message_timer)},
          {"receipt_mode", opt(conv.receipt_mode)},
          {"protocol", "proteus"},
          {"last_event", "0.0"},
          {"last_event_time", "1970-01-01T00:00:00.000Z"},
          {"cells_state", "disabled"},
          {"group_conv_type", "group_conversation"},
          {"add_permission", "everyone"},
          {"parent", nullptr}};
}

std::string legacy_access_role(const std::vector<std::string>& access_role) {
  auto within = [&](std::initializer_list<const char*> allowed) {
    for (const auto& r : access_role) {
      bool ok = false;
      for (const char* a : allowed) ok = ok || r == a;
      if (!ok) return false;
    }
    return true;
  };
  if (access_role.empty()) return "private";
  if (within({"team_member"})) return "team";
  if (within({"team_member", "non_team_member", "service"})) return "activated";
  return "non_activated";
}

json access_update_data(const Conversation& conv) {
  return {{"access", conv.access}, {"access_role", legacy_access_role(conv.access_role)},
          {"access_role_v2", conv.access_role}};
}

json conversation_event_data(const Conversation& conv, const std::string& viewer, const std::string& domain) {
  json j = conversation_json(conv, viewer, domain);
  j["access_role_v2"] = conv.access_role;
  j["access_role"] = legacy_access_role(conv.access_role);
  return j;
}

json connection_json(const Connection& c, const std::string& domain) {
  return {{"from", c.from},
          {"to", c.to},
          {"qualified_to", qualified(c.to, domain)},
          {"status", to_string(c.status)},
          {"last_update", iso8601_ms(c.last_update_ms)},
          {"conversation", c.conversation_id},
          {"qualified_conversation", qualified(c.conversation_id, domain)},
          {"message", nullptr}};
}

json conversation_event(const std::string& type, const Conversation& conv, const std::string& from, json data,
                        const std::string& domain) {
  json e = {{"type", type},
            {"conversation", conv.id},
            {"qualified_conversation", qualified(conv.id, domain)},
            {"from", from},
            {"qualified_from", qualified(from, domain)},
            {"time", iso8601_ms(now_ms())},
            {"data", std::move(data)}};
  if (!conv.team_id.empty()) e["team"] = conv.team_id;
  return e;
}

json conversation_roles_json() {
  json admin_actions = {"add_conversation_member",     "remove_conversation_member", "modify_conversation_name",
                        "modify_conversation_message_timer", "modify_conversation_receipt_mode",
                        "modify_conversation_access",  "modify_other_conversation_member", "leave_conversation",
                        "delete_conversation"};
  return {{"conversation_roles",
           {{{"conversation_role", "wire_admin"}, {"actions", admin_actions}},
            {{"conversation_role", "wire_member"}, {"actions", {"leave_conversation"}}}}}};
}

}  // namespace wirebox::conversations
