// JSON shapes of conversations, members, connections and conversation events, as wire-server
// renders them for API v8 (members carry qualified_id — core drops members without it).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "conversations/conversation_store.h"

namespace wirebox::conversations {

nlohmann::json qualified(const std::string& id, const std::string& domain);
// The conversation as `viewer` sees it: members.self is the viewer, others the rest.
nlohmann::json conversation_json(const Conversation& conv, const std::string& viewer, const std::string& domain);
// The V2 shape used inside conversation.create events (legacy access_role string + access_role_v2).
nlohmann::json conversation_event_data(const Conversation& conv, const std::string& viewer, const std::string& domain);
// wire-server's legacy access_role string for an access_role set: the smallest of private ([]),
// team ([team_member]), activated ([team_member, non_team_member, service]) and non_activated
// (all four) that contains the set.
std::string legacy_access_role(const std::vector<std::string>& access_role);
// conversation.access-update data in the V2 shape: {access, access_role (legacy), access_role_v2}.
nlohmann::json access_update_data(const Conversation& conv);
nlohmann::json other_member_json(const Member& m, const std::string& domain);
nlohmann::json connection_json(const Connection& c, const std::string& domain);
// {type, conversation, qualified_conversation, from, qualified_from, time, data[, team]}
nlohmann::json conversation_event(const std::string& type, const Conversation& conv, const std::string& from,
                                  nlohmann::json data, const std::string& domain);
nlohmann::json conversation_roles_json();

}  // namespace wirebox::conversations
