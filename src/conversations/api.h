// HTTP routes of the conversations module: create/list/get conversations, members (add,
// remove, leave, roles, self state), rename, typing, team conversation delete; and, in
// connections_api, 1:1 connections. Every change emits the conversation events wire-server
// emits, to every member's clients, before the response is sent.
#pragma once

#include <string>

#include "conversations/conversation_store.h"
#include "http/router.h"
#include "notifications/event_publisher.h"
#include "teams/team_store.h"
#include "users/user_store.h"

namespace wirebox::conversations {

struct ConversationsOptions {
  std::string domain;
  size_t max_members = 500;  // conversations.max_group_size, the creator included
};

class ConversationsApi {
 public:
  ConversationsApi(ConversationsOptions options, ConversationStore& store, users::UserStore& users,
                   teams::TeamStore& teams, notifications::EventPublisher& events);
  void register_routes(http::Router& router);

  // May `actor` put `other` into a conversation? Team mates always; others only when connected.
  bool can_add(const users::User& actor, const users::User& other);

 private:
  http::Response create(http::Request& req);
  http::Response create_self(http::Request& req);
  http::Response list_ids(http::Request& req);
  http::Response list(http::Request& req);
  http::Response get(http::Request& req);
  http::Response add_members(http::Request& req);
  http::Response remove_member(http::Request& req);
  http::Response update_member(http::Request& req);
  http::Response rename(http::Request& req);
  http::Response update_receipt_mode(http::Request& req);
  http::Response update_message_timer(http::Request& req);
  http::Response update_access(http::Request& req);
  // Common tail of the three settings updates: 204 if nothing changed, else store, publish
  // `type` with `data` to the members (before the change, so removed members hear it too) and
  // answer 200 with the event.
  http::Response apply_settings(const Conversation& before, const Conversation& after, const std::string& actor,
                                const std::string& type, const nlohmann::json& data);
  http::Response get_self(http::Request& req);
  http::Response put_self(http::Request& req);
  http::Response typing(http::Request& req);
  http::Response delete_team_conversation(http::Request& req);

  // Loads {domain}/{cid} from the path and checks the caller is a member:
  // 404 no-conversation if it doesn't exist, 403 access-denied if not a member.
  Result<Conversation> load(const http::Request& req, bool not_member_is_404 = false);
  Status publish_to_members(const Conversation& conv, const nlohmann::json& event, bool transient = false,
                            const std::string& skip_user = "");

  ConversationsOptions options_;
  ConversationStore& store_;
  users::UserStore& users_;
  teams::TeamStore& teams_;
  notifications::EventPublisher& events_;
};

void register_connection_routes(http::Router& router, const std::string& domain, ConversationStore& store,
                                users::UserStore& users, notifications::EventPublisher& events);

}  // namespace wirebox::conversations
