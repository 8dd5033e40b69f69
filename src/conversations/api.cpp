#include "conversations/api.h"

#include <algorithm>
#include <map>
#include <set>

#include "conversations/conversation_json.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/json_fields.h"
#include "core/time.h"

namespace wirebox::conversations {

using namespace http;
using nlohmann::json;

namespace {

const ApiError kNoConversation{404, "no-conversation", "Conversation not found"};
const ApiError kAccessDenied{403, "access-denied", "Conversation access denied"};
const ApiError kActionDenied{403, "action-denied", "Insufficient authorization"};

// wire-server's ensureAccessRole: a team conversation whose access_role lacks "non_team_member"
// takes members of its own team only (update_access removes the others when it is closed).
bool admits(const Conversation& conv, const users::User& user) {
  if (conv.team_id.empty() || user.team_id == conv.team_id) return true;
  return std::find(conv.access_role.begin(), conv.access_role.end(), "non_team_member") != conv.access_role.end();
}
const ApiError kInvalidOp{403, "invalid-op", "Invalid operation"};
const ApiError kNotConnected{403, "not-connected", "Users are not connected"};

bool is_admin(const Conversation& c, const std::string& user) {
  for (const auto& m : c.members)
    if (m.user_id == user) return m.role == "wire_admin";
  return false;
}

Result<std::optional<std::vector<std::string>>> string_list(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<std::vector<std::string>>{};
  if (!it->is_array() || it->size() > 16) return ApiError::bad_request(std::string(key) + " must be an array of strings");
  std::vector<std::string> out;
  for (const auto& x : *it) {
    if (!x.is_string() || x.get<std::string>().size() > 64)
      return ApiError::bad_request(std::string(key) + " must be an array of strings");
    out.push_back(x.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(out);
}

// {qualified_users:[{id,domain}]} and/or legacy {users:[id]} → local user ids (deduplicated).
Result<std::vector<std::string>> user_list(const json& body, const std::string& domain, size_t max) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& id) -> Status {
    auto n = normalize_uuid(id);
    if (!n) return ApiError::bad_request("Invalid user id");
    if (seen.insert(*n).second) out.push_back(*n);
    return {};
  };
  if (auto q = body.find("qualified_users"); q != body.end() && !q->is_null()) {
    if (!q->is_array()) return ApiError::bad_request("qualified_users must be an array");
    for (const auto& u : *q) {
      if (!u.is_object()) return ApiError::bad_request("qualified_users entries must be {id, domain}");
      auto id = json_fields::req_string(u, "id", 1, 64);
      auto d = json_fields::req_string(u, "domain", 1, 255);
      if (!id || !d) return ApiError::bad_request("qualified_users entries must be {id, domain}");
      if (*d != domain) return ApiError{422, "federation-not-enabled", "Federation is not enabled on this backend"};
      if (auto s = add(*id); !s) return s.error();
    }
  }
  if (auto q = body.find("users"); q != body.end() && !q->is_null()) {
    if (!q->is_array()) return ApiError::bad_request("users must be an array");
    for (const auto& u : *q) {
      if (!u.is_string()) return ApiError::bad_request("users must be an array of ids");
      if (auto s = add(u.get<std::string>()); !s) return s.error();
    }
  }
  if (out.size() > max) return ApiError{403, "too-many-members", "Maximum number of members per conversation reached"};
  return out;
}

// Sorted, without duplicates: access and access_role are sets in wire-server.
std::vector<std::string> dedup(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

Result<std::string> role_of(const json& body, const std::string& fallback) {
  auto role = json_fields::opt_string(body, "conversation_role", 1, 128);
  if (!role) return role.error();
  std::string r = role.value().value_or(fallback);
  if (r != "wire_admin" && r != "wire_member") return ApiError{400, "invalid-conversation-role", "Unknown role"};
  return r;
}

}  // namespace

ConversationsApi::ConversationsApi(ConversationsOptions options, ConversationStore& store, users::UserStore& users,
                                   teams::TeamStore& teams, notifications::EventPublisher& events)
    : options_(std::move(options)), store_(store), users_(users), teams_(teams), events_(events) {}

bool ConversationsApi::can_add(const users::User& actor, const users::User& other) {
  if (!actor.team_id.empty() && actor.team_id == other.team_id) return true;
  // Accepted on both sides: a user who blocked the actor still shows "accepted" on the actor's
  // side, and used to be addable to the actor's groups.
  auto mine = store_.connection(actor.id, other.id);
  auto theirs = store_.connection(other.id, actor.id);
  return mine && theirs && mine->status == ConnectionStatus::kAccepted && theirs->status == ConnectionStatus::kAccepted;
}

Result<Conversation> ConversationsApi::load(const Request& req, bool not_member_is_404) {
  if (req.param("domain") != options_.domain) return kNoConversation;
  auto id = normalize_uuid(req.param("cid"));
  if (!id) return ApiError::bad_request("Invalid conversation id");
  auto conv = store_.find(*id);
  if (!conv) return kNoConversation;
  for (const auto& m : conv->members)
    if (m.user_id == req.identity.user_id) return *conv;
  return not_member_is_404 ? kNoConversation : kAccessDenied;
}

Status ConversationsApi::publish_to_members(const Conversation& conv, const json& event, bool transient,
                                            const std::string& skip_user) {
  std::vector<notifications::Delivery> deliveries;
  for (const auto& m : conv.members)
    if (m.user_id != skip_user) deliveries.push_back({m.user_id, {}, json::array({event})});
  return events_.publish(deliveries, transient);
}

void ConversationsApi::register_routes(Router& router) {
  auto bind = [this](Response (ConversationsApi::*fn)(Request&)) {
    return [this, fn](Request& r) { return (this->*fn)(r); };
  };
  router.add(Verb::post, "/conversations", Access::kUser, bind(&ConversationsApi::create));
  router.add(Verb::post, "/conversations/self", Access::kUser, bind(&ConversationsApi::create_self));
  router.add(Verb::post, "/conversations/list-ids", Access::kUser, bind(&ConversationsApi::list_ids));
  router.add(Verb::post, "/conversations/list", Access::kUser, bind(&ConversationsApi::list));
  router.add(Verb::get, "/conversations/{domain}/{cid}", Access::kUser, bind(&ConversationsApi::get));
  router.add(Verb::post, "/conversations/{domain}/{cid}/members", Access::kUser, bind(&ConversationsApi::add_members));
  router.add(Verb::delete_, "/conversations/{domain}/{cid}/members/{udomain}/{uid}", Access::kUser,
             bind(&ConversationsApi::remove_member));
  router.add(Verb::put, "/conversations/{domain}/{cid}/members/{udomain}/{uid}", Access::kUser,
             bind(&ConversationsApi::update_member));
  router.add(Verb::put, "/conversations/{domain}/{cid}/name", Access::kUser, bind(&ConversationsApi::rename));
  router.add(Verb::put, "/conversations/{domain}/{cid}/receipt-mode", Access::kUser,
             bind(&ConversationsApi::update_receipt_mode));
  router.add(Verb::put, "/conversations/{domain}/{cid}/message-timer", Access::kUser,
             bind(&ConversationsApi::update_message_timer));
  router.add(Verb::put, "/conversations/{domain}/{cid}/access", Access::kUser, bind(&ConversationsApi::update_access));
  router.add(Verb::get, "/conversations/{domain}/{cid}/self", Access::kUser, bind(&ConversationsApi::get_self));
  router.add(Verb::put, "/conversations/{domain}/{cid}/self", Access::kUser, bind(&ConversationsApi::put_self));
  router.add(Verb::post, "/conversations/{domain}/{cid}/typing", Access::kUser, bind(&ConversationsApi::typing));
  auto roles = [this](Request& req) {
    auto conv = load(req);
    if (!conv) return error_response(conv.error());
    return json_response(200, conversation_roles_json());
  };
  router.add(Verb::get, "/conversations/{domain}/{cid}/roles", Access::kUser, roles);
  router.add(Verb::get, "/conversations/{cid}/roles", Access::kUser, [this, roles](Request& req) {
    req.params["domain"] = options_.domain;
    return roles(req);
  });
  router.add(Verb::delete_, "/teams/{tid}/conversations/{cid}", Access::kUser,
             bind(&ConversationsApi::delete_team_conversation));
}

Response ConversationsApi::create(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  const std::string& me = req.identity.user_id;
  auto actor = users_.find(me);
  if (!actor) return error_response(ApiError::unauthorized("User no longer exists"));

  Conversation conv;
  conv.id = new_uuid_v4();
  conv.type = ConvType::kRegular;
  conv.creator = me;
  conv.created_at_ms = now_ms();
  auto name = json_fields::opt_string(*body, "name", 1, 256);
  if (!name) return error_response(name.error());
  conv.name = name.value();
  auto protocol = json_fields::opt_string(*body, "protocol", 1, 32);
  if (!protocol) return error_response(protocol.error());
  if (protocol.value() && *protocol.value() != "proteus")
    return error_response({403, "mls-not-enabled", "MLS is not enabled on this backend"});
  for (auto [key, field] : {std::pair{"access", &conv.access}, std::pair{"access_role", &conv.access_role}}) {
    auto v = string_list(*body, key);
    if (!v) return error_response(v.error());
    if (v.value()) *field = *v.value();
  }
  auto receipt = json_fields::opt_int(*body, "receipt_mode", -(int64_t{1} << 31), int64_t{1} << 31);
  if (!receipt) return error_response(receipt.error());
  conv.receipt_mode = receipt.value();
  auto timer = json_fields::opt_int(*body, "message_timer", 0, int64_t{1} << 40);
  if (!timer) return error_response(timer.error());
  conv.message_timer = timer.value();
  if (auto team = body->find("team"); team != body->end() && !team->is_null()) {
    if (!team->is_object()) return error_response(ApiError::bad_request("team must be an object"));
    auto tid = json_fields::req_string(*team, "teamid", 36, 36);
    if (!tid || !is_uuid(*tid)) return error_response(ApiError::bad_request("team.teamid must be a team id"));
    if (!teams_.member(*tid, me)) return error_response({403, "no-team-member", "Requesting user is not a team member"});
    conv.team_id = *normalize_uuid(*tid);
  }
  // Invited users get wire_admin unless told otherwise, as wire-server does.
  auto role = role_of(*body, "wire_admin");
  if (!role) return error_response(role.error());
  auto invited = user_list(*body, options_.domain, options_.max_members - 1);
  if (!invited) return error_response(invited.error());

  conv.members.push_back({me, "wire_admin", {}});
  for (const auto& uid : *invited) {
    if (uid == me) continue;
    auto other = users_.find(uid);
    if (!other || !can_add(*actor, *other)) return error_response(kNotConnected);
    if (!conv.team_id.empty() && other->team_id != conv.team_id && !can_add(*actor, *other))
      return error_response(kNotConnected);
    if (!admits(conv, *other)) return error_response(kAccessDenied);
    conv.members.push_back({uid, *role, {}});
  }
  if (auto s = store_.create(conv); !s) return error_response(s.error());

  std::vector<notifications::Delivery> deliveries;
  for (const auto& m : conv.members)
    deliveries.push_back({m.user_id, {},
                          json::array({conversation_event("conversation.create", conv, me,
                                                          conversation_event_data(conv, m.user_id, options_.domain),
                                                          options_.domain)})});
  if (auto s = events_.publish(deliveries); !s) return error_response(s.error());
  json out = conversation_json(conv, me, options_.domain);
  out["failed_to_add"] = json::array();
  return json_response(201, out).with_header("Location", "/conversations/" + options_.domain + "/" + conv.id);
}

Response ConversationsApi::create_self(Request& req) {
  const std::string& me = req.identity.user_id;
  Conversation conv;
  conv.id = me;  // the self conversation's id is the user's id, as in wire-server
  conv.type = ConvType::kSelf;
  conv.creator = me;
  conv.access = {"private"};
  conv.access_role = {};
  conv.created_at_ms = now_ms();
  conv.members.push_back({me, "wire_admin", {}});
  auto created = store_.create_if_absent(conv);
  if (!created) return error_response(created.error());
  auto stored = store_.find(me);
  return json_response(created.value() ? 201 : 200, conversation_json(*stored, me, options_.domain));
}

Response ConversationsApi::list_ids(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto size = json_fields::opt_int(*body, "size", 1, 1000);
  if (!size) return error_response(size.error());
  auto paging = json_fields::opt_string(*body, "paging_state", 0, 256);
  if (!paging) return error_response(paging.error());
  std::string after;
  if (paging.value() && !paging.value()->empty()) {
    auto decoded = base64url_decode(*paging.value());
    if (!decoded || (!decoded->empty() && !is_uuid(*decoded)))
      return error_response(ApiError::bad_request("Invalid paging_state"));
    after = *decoded;
  } else {
    // First page: make sure the self conversation exists (clients look for type 1).
    Request self_req = req;
    if (auto r = create_self(self_req); r.status >= 300) return r;
  }
  size_t n = static_cast<size_t>(size.value().value_or(1000));
  auto ids = store_.conversation_ids(req.identity.user_id, after, n + 1);
  bool has_more = ids.size() > n;
  if (has_more) ids.resize(n);
  json list = json::array();
  for (const auto& id : ids) list.push_back(qualified(id, options_.domain));
  std::string last = ids.empty() ? after : ids.back();
  return json_response(200, {{"qualified_conversations", list}, {"has_more", has_more},
                             {"paging_state", base64url_encode(last)}});
}

Response ConversationsApi::list(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto ids = body->find("qualified_ids");
  if (ids == body->end() || !ids->is_array() || ids->size() > 1000)
    return error_response(ApiError::bad_request("qualified_ids must be an array of at most 1000 ids"));
  json found = json::array(), not_found = json::array(), failed = json::array();
  for (const auto& q : *ids) {
    if (!q.is_object()) return error_response(ApiError::bad_request("qualified_ids entries must be {id, domain}"));
    auto id = json_fields::req_string(q, "id", 1, 64);
    auto domain = json_fields::req_string(q, "domain", 1, 255);
    if (!id || !domain || !is_uuid(*id))
      return error_response(ApiError::bad_request("qualified_ids entries must be {id, domain}"));
    if (*domain != options_.domain) {
      failed.push_back(q);
      continue;
    }
    auto conv = store_.find(*normalize_uuid(*id));
    bool member = false;
    if (conv)
      for (const auto& m : conv->members) member = member || m.user_id == req.identity.user_id;
    if (member) found.push_back(conversation_json(*conv, req.identity.user_id, options_.domain));
    else not_found.push_back(q);
  }
  return json_response(200, {{"found", found}, {"not_found", not_found}, {"failed", failed}});
}

Response ConversationsApi::get(Request& req) {
  auto conv = load(req);
  if (!conv) return error_response(conv.error());
  return json_response(200, conversation_json(*conv, req.identity.user_id, options_.domain));
}

Response ConversationsApi::add_members(Request& req) {
  auto conv = load(req);
  if (!conv) return error_response(conv.error());
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  const std::string& me = req.identity.user_id;
  if (conv->type != ConvType::kRegular) return error_response(kInvalidOp);
  if (!is_admin(*conv, me)) return error_response(kActionDenied);
  auto role = role_of(*body, "wire_member");
  if (!role) return error_response(role.error());
  auto invited = user_list(*body, options_.domain, options_.max_members);
  if (!invited) return error_response(invited.error());
  auto actor = users_.find(me);
  if (!actor) return error_response(ApiError::unauthorized("User no longer exists"));
  std::vector<Member> added;
  for (const auto& uid : *invited) {
    bool present = false;
    for (const auto& m : conv->members) present = present || m.user_id == uid;
    if (present) continue;
    auto other = users_.find(uid);
    if (!other || !can_add(*actor, *other)) return error_response(kNotConnected);
    if (!admits(*conv, *other)) return error_response(kAccessDenied);
    added.push_back({uid, *role, {}});
  }
  if (added.empty()) return empty_response(204);
  if (conv->members.size() + added.size() > options_.max_members)
    return error_response({403, "too-many-members", "Maximum number of members per conversation reached"});
  if (auto s = store_.add_members(conv->id, added); !s) return error_response(s.error());
  json users = json::array(), user_ids = json::array();
  for (const auto& m : added) {
    users.push_back({{"id", m.user_id}, {"qualified_id", qualified(m.user_id, options_.domain)},
                     {"conversation_role", m.role}});
    user_ids.push_back(m.user_id);
    conv->members.push_back(m);
  }
  json event = conversation_event("conversation.member-join", *conv, me, {{"users", users}, {"user_ids", user_ids}},
                                  options_.domain);
  if (auto s = publish_to_members(*conv, event); !s) return error_response(s.error());
  return json_response(200, event);
}

Response ConversationsApi::remove_member(Request& req) {
  auto conv = load(req);
  if (!conv) return error_response(conv.error());
  const std::string& me = req.identity.user_id;
  auto target = normalize_uuid(req.param("uid"));
  if (!target || req.param("udomain") != options_.domain) return error_response(ApiError::bad_request("Invalid user"));
  if (conv->type != ConvType::kRegular) return error_response(kInvalidOp);
  if (*target != me && !is_admin(*conv, me)) return error_response(kActionDenied);
  bool present = false;
  for (const auto& m : conv->members) present = present || m.user_id == *target;
  if (!present) return empty_response(204);
  // Everyone, the removed member included, hears about it before the removal takes effect.
  json event = conversation_event("conversation.member-leave", *conv, me,
                                  {{"qualified_user_ids", {qualified(*target, options_.domain)}},
                                   {"user_ids", {*target}},
                                   {"reason", *target == me ? "left" : "removed"}},
                                  options_.domain);
  if (auto s = store_.remove_member(conv->id, *target); !s) return error_response(s.error());
  if (auto s = publish_to_members(*conv, event); !s) return error_response(s.error());
  return json_response(200, event);
}

Response ConversationsApi::update_member(Request& req) {
  auto conv = load(req);
  if (!conv) return error_response(conv.error());
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto target = normalize_uuid(req.param("uid"));
  if (!target || req.param("udomain") != options_.domain) return error_response(ApiError::bad_request("Invalid user"));
  // As wire-server: one's own role is not changed here (InvalidTarget), and other members' roles
  // only in group conversations (a 1:1 or a connect conversation has none to change).
  if (*target == req.identity.user_id) return error_response({403, "invalid-op", "Invalid target"});
  if (conv->type != ConvType::kRegular) return error_response(kInvalidOp);
  if (!is_admin(*conv, req.identity.user_id)) return error_response(kActionDenied);
  auto role = role_of(*body, "");
  if (!role) return error_response(role.error());
  if (!store_.member(conv->id, *target)) return error_response({404, "no-conversation-member", "Member not found"});
  if (auto s = store_.set_member_role(conv->id, *target, *role); !s) return error_response(s.error());
  json event = conversation_event("conversation.member-update", *conv, req.identity.user_id,
                                  {{"target", *target}, {"qualified_target", qualified(*target, options_.domain)},
                                   {"conversation_role", *role}},
                                  options_.domain);
  if (auto s = publish_to_members(*conv, event); !s) return error_response(s.error());
  return empty_response(200);
}

Response ConversationsApi::rename(Request& req) {
  auto conv = load(req);
  if (!conv) return error_response(conv.error());
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto name = json_fields::req_string(*body, "name", 1, 256);
  if (!name) return error_response(name.error());
  if (conv->type != ConvType::kRegular) return error_response(kInvalidOp);
  if (!is_admin(*conv, req.identity.user_id)) return error_response(kActionDenied);
  if (auto s = store_.rename(conv->id, *name); !s) return error_response(s.error());
  json event = conversation_event("conversation.rename", *conv, req.identity.user_id, {{"name", *name}}, options_.domain);
  if (auto s = publish_to_members(*conv, event); !s) return error_response(s.error());
  return json_response(200, event);
}

Response ConversationsApi::apply_settings(const Conversation& before, const Conversation& after,
                                          const std::string& actor, const std::string& type, const json& data) {
  if (before.access == after.access && before.access_role == after.access_role &&
      before.receipt_mode == after.receipt_mode && before.message_timer == after.message_timer)
    return empty_response(204);  // wire-server: "unchanged", no event
  if (auto s = store_.update_settings(after); !s) return error_response(s.error());
  json event = conversation_event(type, after, actor, data, options_.domain);
  if (auto s = publish_to_members(after, event); !s) return error_response(s.error());
  return json_response(200, event);
}

// Settings of group conversations only, changed by its admins (wire_member may not:
// modify_conversation_receipt_mode/_message_timer/_access are wire_admin actions).
Response ConversationsApi::update_receipt_mode(Request& req) {
  auto conv = load(req);
  if (!conv) return error_response(conv.error());
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto mode = json_fields::opt_int(*body, "receipt_mode", -(int64_t{1} << 31), (int64_t{1} << 31) - 1);
  if (!mode) return error_response(mode.error());
  if (!mode.value()) return error_response(ApiError::bad_request("receipt_mode is required"));
  if (conv->type != ConvType::kRegular) return error_response(kInvalidOp);
  if (!is_admin(*conv, req.identity.user_id)) return error_response(kActionDenied);
  Conversation after = *conv;
  after.receipt_mode = *mode.value();
  return apply_settings(*conv, after, req.identity.user_id, "conversation.receipt-mode-update",
                        {{"receipt_mode", *mode.value()}});
}

Response ConversationsApi::update_message_timer(Request& req) {
  auto conv = load(req);
  if (!conv) return error_response(conv.error());
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  // Milliseconds, or null (or absent) to switch the timer off.
  auto timer = json_fields::opt_int(*body, "message_timer", 0, int64_t{1} << 40);
  if (!timer) return error_response(timer.error());
  if (conv->type != ConvType::kRegular) return error_response(kInvalidOp);
  if (!is_admin(*conv, req.identity.user_id)) return error_response(kActionDenied);
  Conversation after = *conv;
  after.message_timer = timer.value();
  return apply_settings(*conv, after, req.identity.user_id, "conversation.message-timer-update",
                        {{"message_timer", timer.value() ? json(*timer.value()) : json(nullptr)}});
}

Response ConversationsApi::update_access(Request& req) {
  auto conv = load(req);
  if (!conv) return error_response(conv.error());
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto access = string_list(*body, "access");
  if (!access) return error_response(access.error());
  if (!access.value()) return error_response(ApiError::bad_request("access is required"));
  // API v3+ sends the role set as access_role; v2 clients as access_role_v2 (with a legacy
  // access_role string next to it, which the set supersedes).
  std::optional<std::vector<std::string>> roles;
  if (auto legacy = body->find("access_role"); legacy != body->end() && legacy->is_string()) {
    auto v2 = string_list(*body, "access_role_v2");
    if (!v2) return error_response(v2.error());
    roles = v2.value();
    if (!roles) {
      static const std::map<std::string, std::vector<std::string>> kLegacy = {
          {"private", {}},
          {"team", {"team_member"}},
          {"activated", {"team_member", "non_team_member", "service"}},
          {"non_activated", {"team_member", "non_team_member", "guest", "service"}}};
      auto it = kLegacy.find(legacy->get<std::string>());
      if (it == kLegacy.end()) return error_response(ApiError::bad_request("Unknown access_role"));
      roles = it->second;
    }
  } else {
    auto set = string_list(*body, "access_role");
    if (!set) return error_response(set.error());
    roles = set.value();
    if (!roles) {
      auto v2 = string_list(*body, "access_role_v2");
      if (!v2) return error_response(v2.error());
      roles = v2.value();
    }
  }
  if (!roles) return error_response(ApiError::bad_request("access_role is required"));
  for (const auto& a : *access.value())
    if (a != "private" && a != "invite" && a != "link" && a != "code")
      return error_response(ApiError::bad_request("Unknown access: " + a));
  for (const auto& r : *roles)
    if (r != "team_member" && r != "non_team_member" && r != "guest" && r != "service")
      return error_response(ApiError::bad_request("Unknown access_role: " + r));
  if (conv->type != ConvType::kRegular) return error_response(kInvalidOp);
  if (!is_admin(*conv, req.identity.user_id)) return error_response(kActionDenied);
  // As wire-server: 'private' belongs to self and 1:1 conversations, and a group nobody may join
  // is not a group.
  auto has = [](const std::vector<std::string>& v, const char* x) { return std::find(v.begin(), v.end(), x) != v.end(); };
  if (has(*access.value(), "private") || roles->empty())
    return error_response({403, "invalid-op", "Invalid target access"});
  Conversation after = *conv;
  after.access = dedup(*access.value());
  after.access_role = dedup(*roles);
  // Same set in another order is no change.
  Conversation before = *conv;
  before.access = dedup(before.access);
  before.access_role = dedup(before.access_role);
  json data = access_update_data(after);
  Response r = apply_settings(before, after, req.identity.user_id, "conversation.access-update", data);
  if (r.status != 200 || conv->team_id.empty() || has(after.access_role, "non_team_member")) return r;
  // A team conversation closed to non-team members loses those it has, as in wire-server: each
  // hears conversation.member-leave (reason "removed") with the remaining members.
  for (const auto& m : conv->members) {
    auto user = users_.find(m.user_id);
    if (user && user->team_id == conv->team_id) continue;
    json leave = conversation_event("conversation.member-leave", after, req.identity.user_id,
                                    {{"qualified_user_ids", {qualified(m.user_id, options_.domain)}},
                                     {"user_ids", {m.user_id}},
                                     {"reason", "removed"}},
                                    options_.domain);
    if (auto s = store_.remove_member(conv->id, m.user_id); !s) return error_response(s.error());
    if (auto s = publish_to_members(after, leave); !s) return error_response(s.error());
    std::erase_if(after.members, [&](const Member& x) { return x.user_id == m.user_id; });
  }
  return r;
}

Response ConversationsApi::get_self(Request& req) {
  auto conv = load(req);
  if (!conv) return error_response(conv.error());
  return json_response(200, conversation_json(*conv, req.identity.user_id, options_.domain)["members"]["self"]);
}

Response ConversationsApi::put_self(Request& req) {
  auto conv = load(req);
  if (!conv) return error_response(conv.error());
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  MemberState s = store_.member(conv->id, req.identity.user_id)->state;
  json changed = json::object();
  auto muted = json_fields::opt_int(*body, "otr_muted_status", 0, 3);
  if (!muted) return error_response(muted.error());
  if (muted.value()) s.otr_muted_status = muted.value();
  for (auto [key, field] : {std::pair{"otr_muted_ref", &s.otr_muted_ref}, std::pair{"otr_archived_ref", &s.otr_archived_ref},
                            std::pair{"hidden_ref", &s.hidden_ref}}) {
    auto v = json_fields::opt_string(*body, key, 0, 256);
    if (!v) return error_response(v.error());
    if (v.value()) {
      *field = v.value();
      changed[key] = *v.value();
    }
  }
  for (auto [key, field] : {std::pair{"otr_archived", &s.otr_archived}, std::pair{"hidden", &s.hidden}}) {
    auto v = json_fields::opt_bool(*body, key);
    if (!v) return error_response(v.error());
    if (v.value()) {
      *field = *v.value();
      changed[key] = *v.value();
    }
  }
  if (muted.value()) changed["otr_muted_status"] = *muted.value();
  if (auto st = store_.set_member_state(conv->id, req.identity.user_id, s); !st) return error_response(st.error());
  changed["target"] = req.identity.user_id;
  changed["qualified_target"] = qualified(req.identity.user_id, options_.domain);
  json event = conversation_event("conversation.member-update", *conv, req.identity.user_id, changed, options_.domain);
  if (auto st = events_.publish_one({req.identity.user_id, {}, json::array({event})}); !st)
    return error_response(st.error());
  return empty_response(200);
}

Response ConversationsApi::typing(Request& req) {
  auto conv = load(req);
  if (!conv) return error_response(conv.error());
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto status = json_fields::req_string(*body, "status", 1, 16);
  if (!status) return error_response(status.error());
  if (*status != "started" && *status != "stopped")
    return error_response(ApiError::bad_request("status must be started or stopped"));
  json event = conversation_event("conversation.typing", *conv, req.identity.user_id, {{"status", *status}},
                                  options_.domain);
  if (auto s = publish_to_members(*conv, event, true, req.identity.user_id); !s) return error_response(s.error());
  return empty_response(200);
}

Response ConversationsApi::delete_team_conversation(Request& req) {
  auto tid = normalize_uuid(req.param("tid"));
  auto cid = normalize_uuid(req.param("cid"));
  if (!tid || !cid) return error_response(ApiError::bad_request("Invalid id"));
  auto member = teams_.member(*tid, req.identity.user_id);
  if (!member) return error_response({403, "no-team-member", "Requesting user is not a team member"});
  // DeleteConversation is bit 0x0002 of Wire's team permissions; the conversation role must
  // allow it too (wire_admin).
  if ((member->permissions & 0x0002) == 0) return error_response({403, "operation-denied", "Insufficient permissions"});
  auto conv = store_.find(*cid);
  if (!conv || conv->team_id != *tid) return error_response(kNoConversation);
  if (!is_admin(*conv, req.identity.user_id)) return error_response(kActionDenied);
  json event = conversation_event("conversation.delete", *conv, req.identity.user_id, nullptr, options_.domain);
  if (auto s = store_.remove(conv->id); !s) return error_response(s.error());
  if (auto s = publish_to_members(*conv, event); !s) return error_response(s.error());
  return empty_response(200);
}

}  // namespace wirebox::conversations
