// 1:1 connections between users outside a team: request (sent/pending), accept, ignore,
// block, cancel. A request creates the "connect" conversation (type 3) holding the requester;
// accepting turns it into the one2one conversation (type 2) holding both.
#include "conversations/api.h"
#include "conversations/conversation_json.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/json_fields.h"
#include "core/time.h"

namespace wirebox::conversations {

using namespace http;
using nlohmann::json;

namespace {

// Both users derive the same conversation id, whoever asks first.
std::string one2one_id(const std::string& a, const std::string& b) {
  std::string h = sha256("wirebox-one2one:" + std::min(a, b) + ":" + std::max(a, b));
  h[6] = static_cast<char>((h[6] & 0x0f) | 0x50);
  h[8] = static_cast<char>((h[8] & 0x3f) | 0x80);
  std::string hex = hex_encode(h.substr(0, 16));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20, 12);
}

class ConnectionsApi {
 public:
  ConnectionsApi(std::string domain, ConversationStore& store, users::UserStore& users,
                 notifications::EventPublisher& events)
      : domain_(std::move(domain)), store_(store), users_(users), events_(events) {}

  Result<std::string> target(const Request& req) {
    auto uid = normalize_uuid(req.param("uid"));
    if (!uid) return ApiError::bad_request("Invalid user id");
    if (req.param("domain") != domain_ || !users_.find(*uid)) return ApiError{404, "not-found", "User not found"};
    if (*uid == req.identity.user_id) return ApiError{400, "invalid-user", "Cannot connect to yourself"};
    return *uid;
  }

  Status notify(const Connection& mine, const Connection& theirs) {
    auto self_name = users_.find(theirs.from);
    json for_me = {{"type", "user.connection"}, {"connection", connection_json(mine, domain_)}};
    json for_them = {{"type", "user.connection"}, {"connection", connection_json(theirs, domain_)}};
    if (auto requester = users_.find(mine.from)) for_them["user"] = {{"name", requester->name}};
    return events_.publish({{mine.from, {}, json::array({for_me})}, {theirs.from, {}, json::array({for_them})}});
  }

  // Moves both sides to new statuses, committing and notifying both users.
  Result<Connection> transition(const std::string& me, const std::string& other, ConnectionStatus mine_status,
                                ConnectionStatus theirs_status) {
    std::string conv_id = one2one_id(me, other);
    int64_t now = now_ms();
    Connection mine{me, other, mine_status, conv_id, now};
    Connection theirs{other, me, theirs_status, conv_id, now};
    if (auto s = store_.put_connection_pair(mine, theirs); !s) return s.error();
    if (auto s = notify(mine, theirs); !s) return s.error();
    return mine;
  }

  Response create(Request& req) {
    auto other = target(req);
    if (!other) return error_response(other.error());
    const std::string& me = req.identity.user_id;
    auto existing = store_.connection(me, *other);
    if (existing && (existing->status == ConnectionStatus::kAccepted || existing->status == ConnectionStatus::kSent))
      return json_response(200, connection_json(*existing, domain_));
    if (existing && existing->status == ConnectionStatus::kPending) return accept(me, *other);
    auto theirs = store_.connection(*other, me);
    ConnectionStatus their_status =
        theirs && theirs->status == ConnectionStatus::kBlocked ? ConnectionStatus::kBlocked : ConnectionStatus::kPending;
    Conversation conv;
    conv.id = one2one_id(me, *other);
    conv.type = ConvType::kConnect;
    conv.creator = me;
    conv.access = {"private"};
    conv.access_role = {};
    conv.created_at_ms = now_ms();
    conv.members.push_back({me, "wire_admin", {}});
    if (auto created = store_.create_if_absent(conv); !created) return error_response(created.error());
    auto c = transition(me, *other, ConnectionStatus::kSent, their_status);
    if (!c) return error_response(c.error());
    return json_response(201, connection_json(*c, domain_));
  }

  Response accept(const std::string& me, const std::string& other) {
    std::string conv_id = one2one_id(me, other);
    if (auto s = store_.set_type(conv_id, ConvType::kOne2One); !s) return error_response(s.error());
    if (auto s = store_.add_members(conv_id, {{me, "wire_admin", {}}, {other, "wire_admin", {}}}); !s)
      return error_response(s.error());
    auto c = transition(me, other, ConnectionStatus::kAccepted, ConnectionStatus::kAccepted);
    if (!c) return error_response(c.error());
    if (auto conv = store_.find(conv_id)) {
      std::vector<notifications::Delivery> deliveries;
      for (const auto& m : conv->members)
        deliveries.push_back({m.user_id, {},
                              json::array({conversation_event("conversation.create", *conv, me,
                                                              conversation_event_data(*conv, m.user_id, domain_),
                                                              domain_)})});
      if (auto s = events_.publish(deliveries); !s) return error_response(s.error());
    }
    return json_response(200, connection_json(*c, domain_));
  }

  Response update(Request& req) {
    auto other = target(req);
    if (!other) return error_response(other.error());
    auto body = req.json_object();
    if (!body) return error_response(body.error());
    auto status_text = json_fields::req_string(*body, "status", 1, 32);
    if (!status_text) return error_response(status_text.error());
    auto wanted = parse_connection_status(*status_text);
    if (!wanted) return error_response(ApiError::bad_request("Unknown connection status"));
    const std::string& me = req.identity.user_id;
    auto mine = store_.connection(me, *other);
    if (!mine) return error_response({404, "not-found", "Connection not found"});
    auto theirs = store_.connection(*other, me);
    ConnectionStatus their_status = theirs ? theirs->status : ConnectionStatus::kCancelled;
    const ApiError invalid{403, "invalid-transition", "Invalid status transition"};
    if (*wanted == mine->status) return empty_response(204);
    Result<Connection> result = invalid;
    switch (*wanted) {
      case ConnectionStatus::kAccepted:
        if (mine->status != ConnectionStatus::kPending && mine->status != ConnectionStatus::kIgnored &&
            mine->status != ConnectionStatus::kBlocked)
          return error_response(invalid);
        if (their_status == ConnectionStatus::kBlocked) {  // they blocked: only our side changes
          result = transition(me, *other, ConnectionStatus::kSent, their_status);
          break;
        }
        // Unblocking connects only users who both wanted it: the other side had accepted or
        // asked. Otherwise our side is a request again and theirs stays what it was (a request
        // we had sent and then blocked stays pending for them): "accepted" from a block used to
        // connect the users whatever the other one had said.
        if (mine->status == ConnectionStatus::kBlocked && their_status != ConnectionStatus::kAccepted &&
            their_status != ConnectionStatus::kSent) {
          ConnectionStatus theirs_now =
              their_status == ConnectionStatus::kCancelled ? ConnectionStatus::kPending : their_status;
          result = transition(me, *other, ConnectionStatus::kSent, theirs_now);
          break;
        }
        return accept(me, *other);
      case ConnectionStatus::kIgnored:
        if (mine->status != ConnectionStatus::kPending) return error_response(invalid);
        result = transition(me, *other, ConnectionStatus::kIgnored, their_status);
        break;
      case ConnectionStatus::kBlocked:
        result = transition(me, *other, ConnectionStatus::kBlocked, their_status);
        // As wire-server: the blocker leaves the 1:1 conversation, so nothing the other user
        // sends there reaches them; accepting again brings both back.
        if (result && store_.member(mine->conversation_id, me)) {
          if (auto s = store_.remove_member(mine->conversation_id, me); !s) return error_response(s.error());
        }
        break;
      case ConnectionStatus::kCancelled:
        if (mine->status != ConnectionStatus::kSent) return error_response(invalid);
        // Withdrawing our request leaves their block in place (it used to clear it, and a new
        // request then reached them as pending).
        result = transition(me, *other, ConnectionStatus::kCancelled,
                            their_status == ConnectionStatus::kBlocked ? ConnectionStatus::kBlocked
                                                                       : ConnectionStatus::kCancelled);
        break;
      case ConnectionStatus::kSent:
      case ConnectionStatus::kPending:
        return error_response(invalid);
    }
    if (!result) return error_response(result.error());
    return json_response(200, connection_json(*result, domain_));
  }

  Response get(Request& req) {
    auto other = target(req);
    if (!other) return error_response(other.error());
    auto c = store_.connection(req.identity.user_id, *other);
    if (!c) return error_response({404, "not-found", "Connection not found"});
    return json_response(200, connection_json(*c, domain_));
  }

  Response list(Request& req) {
    auto body = req.json_object();
    if (!body) return error_response(body.error());
    auto size = json_fields::opt_int(*body, "size", 1, 500);
    if (!size) return error_response(size.error());
    auto paging = json_fields::opt_string(*body, "paging_state", 0, 256);
    if (!paging) return error_response(paging.error());
    std::string after;
    if (paging.value() && !paging.value()->empty()) {
      auto d = base64url_decode(*paging.value());
      if (!d) return error_response(ApiError::bad_request("Invalid paging_state"));
      after = *d;
    }
    size_t n = static_cast<size_t>(size.value().value_or(100));
    auto rows = store_.connections(req.identity.user_id, after, n + 1);
    bool has_more = rows.size() > n;
    if (has_more) rows.resize(n);
    json list = json::array();
    for (const auto& c : rows) list.push_back(connection_json(c, domain_));
    std::string last = rows.empty() ? after : rows.back().to;
    return json_response(200, {{"connections", list}, {"has_more", has_more}, {"paging_state", base64url_encode(last)}});
  }

 private:
  std::string domain_;
  ConversationStore& store_;
  users::UserStore& users_;
  notifications::EventPublisher& events_;
};

}  // namespace

void register_connection_routes(Router& router, const std::string& domain, ConversationStore& store,
                                users::UserStore& users, notifications::EventPublisher& events) {
  auto api = std::make_shared<ConnectionsApi>(domain, store, users, events);
  router.add(Verb::post, "/connections/{domain}/{uid}", Access::kUser, [api](Request& r) { return api->create(r); });
  router.add(Verb::put, "/connections/{domain}/{uid}", Access::kUser, [api](Request& r) { return api->update(r); });
  router.add(Verb::get, "/connections/{domain}/{uid}", Access::kUser, [api](Request& r) { return api->get(r); });
  router.add(Verb::post, "/list-connections", Access::kUser, [api](Request& r) { return api->list(r); });
}

}  // namespace wirebox::conversations
