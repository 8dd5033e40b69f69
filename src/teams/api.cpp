#include "teams/api.h"

#include "core/email.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/json_fields.h"
#include "core/time.h"

namespace wirebox::teams {

using namespace http;

nlohmann::json team_json(const Team& t) {
  nlohmann::json j = {{"id", t.id}, {"name", t.name}, {"icon", t.icon}, {"creator", t.creator}, {"binding", true}};
  if (!t.icon_key.empty()) j["icon_key"] = t.icon_key;
  return j;
}

nlohmann::json member_json(const TeamMember& m) {
  nlohmann::json j = {{"user", m.user_id},
                      {"permissions", {{"self", m.permissions}, {"copy", m.permissions}}},
                      {"created_at", iso8601_ms(m.created_at_ms)},
                      {"legalhold_status", "disabled"}};
  if (!m.created_by.empty()) j["created_by"] = m.created_by;
  return j;
}

nlohmann::json invitation_json(const Invitation& inv, const std::string& domain) {
  return {{"team", inv.team_id},
          {"role", inv.role},
          {"id", inv.id},
          {"created_at", iso8601_ms(inv.created_at_ms)},
          {"created_by", inv.created_by},
          {"email", inv.email},
          {"name", inv.name ? nlohmann::json(*inv.name) : nlohmann::json(nullptr)},
          {"url", "https://" + domain + "/join/?team-code=" + inv.code}};
}

nlohmann::json feature_configs() {
  auto on = [] { return nlohmann::json{{"status", "enabled"}, {"lockStatus", "unlocked"}}; };
  auto off = [] { return nlohmann::json{{"status", "disabled"}, {"lockStatus", "locked"}}; };
  nlohmann::json f;
  f["appLock"] = {{"status", "enabled"}, {"lockStatus", "unlocked"},
                  {"config", {{"enforceAppLock", false}, {"inactivityTimeoutSecs", 60}}}};
  f["classifiedDomains"] = {{"status", "disabled"}, {"lockStatus", "locked"}, {"config", {{"domains", nlohmann::json::array()}}}};
  f["conferenceCalling"] = {{"status", "enabled"}, {"lockStatus", "unlocked"}, {"config", {{"useSFTForOneToOneCalls", false}}}};
  f["conversationGuestLinks"] = on();
  f["digitalSignatures"] = off();
  f["fileSharing"] = on();
  f["legalhold"] = off();
  f["mls"] = {{"status", "disabled"}, {"lockStatus", "locked"},
              {"config", {{"allowedCipherSuites", {1}}, {"defaultCipherSuite", 1}, {"defaultProtocol", "proteus"},
                          {"protocolToggleUsers", nlohmann::json::array()}, {"supportedProtocols", {"proteus"}}}}};
  f["mlsE2EId"] = off();
  f["mlsMigration"] = off();
  f["outlookCalIntegration"] = off();
  f["searchVisibility"] = off();
  f["searchVisibilityInbound"] = off();
  f["selfDeletingMessages"] = {{"status", "enabled"}, {"lockStatus", "unlocked"}, {"config", {{"enforcedTimeoutSeconds", 0}}}};
  f["sndFactorPasswordChallenge"] = off();
  f["sso"] = off();
  f["validateSAMLemails"] = off();
  f["exposeInvitationURLsToTeamAdmin"] = on();
  f["enforceFileDownloadLocation"] = off();
  f["limitedEventFanout"] = off();
  return f;
}

void register_routes(Router& router, TeamStore& teams, const TeamsOptions& options) {
  router.add(Verb::get, "/feature-configs", Access::kUser, [](Request&) { return json_response(200, feature_configs()); },
             Exec::kInline);

  router.add(Verb::get, "/teams", Access::kUser, [&teams](Request& req) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : teams.teams_of(req.identity.user_id)) list.push_back(team_json(t));
    return json_response(200, {{"teams", list}, {"has_more", false}});
  });

  // Members only; others get 403 no-team-member, unknown teams 404 no-team (as wire-server).
  auto member_guard = [&teams](Request& req) -> std::optional<Response> {
    const std::string& tid = req.param("tid");
    if (!is_uuid(tid)) return error_response(ApiError::bad_request("Invalid team id"));
    if (!teams.find(tid)) return error_response({404, "no-team", "Team not found"});
    if (!teams.member(tid, req.identity.user_id))
      return error_response({403, "no-team-member", "Requesting user is not a team member"});
    return std::nullopt;
  };

  router.add(Verb::get, "/teams/{tid}", Access::kUser, [&teams, member_guard](Request& req) {
    if (auto denied = member_guard(req)) return *denied;
    return json_response(200, team_json(*teams.find(req.param("tid"))));
  });

  router.add(Verb::get, "/teams/{tid}/members", Access::kUser, [&teams, member_guard](Request& req) {
    if (auto denied = member_guard(req)) return *denied;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : teams.members(req.param("tid"))) list.push_back(member_json(m));
    return json_response(200, {{"members", list}, {"hasMore", false}});
  });

  router.add(Verb::get, "/teams/{tid}/members/{uid}", Access::kUser, [&teams, member_guard](Request& req) {
    if (auto denied = member_guard(req)) return *denied;
    auto m = teams.member(req.param("tid"), req.param("uid"));
    if (!m) return error_response({404, "no-team-member", "Team member not found"});
    return json_response(200, member_json(*m));
  });

  // Admins and owners (AddTeamMember, bit 0x0004) invite by e-mail; the response carries the
  // join URL with the code, since no e-mail is sent.
  router.add(Verb::post, "/teams/{tid}/invitations", Access::kUser, [&teams, member_guard, options](Request& req) {
    if (auto denied = member_guard(req)) return *denied;
    auto inviter = teams.member(req.param("tid"), req.identity.user_id);
    if ((inviter->permissions & kAddTeamMember) == 0)
      return error_response({403, "insufficient-permissions", "Insufficient team permissions"});
    auto body = req.json_object();
    if (!body) return error_response(body.error());
    auto email = json_fields::req_string(*body, "email", 3, 254);
    if (!email) return error_response(email.error());
    if (!is_valid_email(*email)) return error_response({400, "invalid-email", "Invalid e-mail address."});
    auto name = json_fields::opt_string(*body, "name", 1, 128);
    if (!name) return error_response(name.error());
    auto role = json_fields::opt_string(*body, "role", 1, 16);
    if (!role) return error_response(role.error());
    Invitation inv{new_uuid_v4(), *normalize_uuid(req.param("tid")), *email, name.value(),
                   role.value().value_or("member"), base64url_encode(random_bytes(32)), req.identity.user_id, now_ms()};
    auto permissions = role_permissions(inv.role);
    if (!permissions) return error_response(ApiError::bad_request("role must be owner, admin, member or partner"));
    // Nobody hands out more rights than they have.
    if (!may_invite(inviter->permissions, *permissions))
      return error_response({403, "insufficient-permissions", "Insufficient team permissions"});
    if (auto s = teams.add_invitation(inv); !s) return error_response(s.error());
    return json_response(201, invitation_json(inv, options.domain))
        .with_header("Location", "/teams/" + inv.team_id + "/invitations/" + inv.id);
  });

  router.add(Verb::get, "/teams/{tid}/invitations", Access::kUser, [&teams, member_guard, options](Request& req) {
    if (auto denied = member_guard(req)) return *denied;
    if ((teams.member(req.param("tid"), req.identity.user_id)->permissions & kAddTeamMember) == 0)
      return error_response({403, "insufficient-permissions", "Insufficient team permissions"});
    nlohmann::json list = nlohmann::json::array();
    for (const auto& inv : teams.invitations(*normalize_uuid(req.param("tid"))))
      if (inv.created_at_ms >= now_ms() - options.invitation_ttl_ms) list.push_back(invitation_json(inv, options.domain));
    return json_response(200, {{"invitations", list}, {"has_more", false}});
  });

  // One invitation (the team settings page), and withdrawing it: the code stops working.
  auto invitation_admin = [&teams, member_guard](Request& req) -> std::optional<Response> {
    if (auto denied = member_guard(req)) return denied;
    if ((teams.member(req.param("tid"), req.identity.user_id)->permissions & kAddTeamMember) == 0)
      return error_response({403, "insufficient-permissions", "Insufficient team permissions"});
    return std::nullopt;
  };
  router.add(Verb::get, "/teams/{tid}/invitations/{iid}", Access::kUser, [&teams, invitation_admin, options](Request& req) {
    if (auto denied = invitation_admin(req)) return *denied;
    auto team = normalize_uuid(req.param("tid"));
    auto id = normalize_uuid(req.param("iid"));
    std::optional<Invitation> inv;
    if (id) inv = teams.invitation(*team, *id);
    if (!inv || inv->created_at_ms < now_ms() - options.invitation_ttl_ms)
      return error_response({404, "not-found", "Invitation not found"});
    return json_response(200, invitation_json(*inv, options.domain));
  });
  router.add(Verb::delete_, "/teams/{tid}/invitations/{iid}", Access::kUser, [&teams, invitation_admin](Request& req) {
    if (auto denied = invitation_admin(req)) return *denied;
    auto team = normalize_uuid(req.param("tid"));
    auto id = normalize_uuid(req.param("iid"));
    if (!id) return empty_response(200);  // nothing by that id: already gone, as wire-server answers
    auto removed = teams.remove_invitation(*team, *id);
    if (!removed) return error_response(removed.error());
    return empty_response(200);
  });

  // Whether an e-mail has a pending invitation (the sign-up page asks before offering to join
  // a team): 200 exactly one, 404 none, 409 several. Public, as in wire-server.
  router.add(Verb::head, "/teams/invitations/by-email", Access::kPublic, [&teams, options](Request& req) {
    auto email = req.query_param("email");
    // A HEAD answer carries no body, so the status says it all.
    if (!email || email->empty() || email->size() > 254) return empty_response(400);
    auto pending = teams.invitations_for_email(*email, now_ms() - options.invitation_ttl_ms);
    return empty_response(pending.empty() ? 404 : pending.size() > 1 ? 409 : 200);
  });

  // The join page looks the code up before registering (no authentication, as wire-server).
  router.add(Verb::get, "/teams/invitations/info", Access::kPublic, [&teams, options](Request& req) {
    auto code = req.query_param("code");
    if (!code || code->empty() || code->size() > 128) return error_response(ApiError::bad_request("code is required"));
    auto inv = teams.invitation_by_code(*code, now_ms() - options.invitation_ttl_ms);
    if (!inv) return error_response({400, "invalid-invitation-code", "Invalid invitation code."});
    return json_response(200, invitation_json(*inv, options.domain));
  });

  router.add(Verb::post, "/teams/{tid}/get-members-by-ids-using-post", Access::kUser,
             [&teams, member_guard](Request& req) {
               if (auto denied = member_guard(req)) return *denied;
               auto body = req.json_object();
               if (!body) return error_response(body.error());
               auto ids = body->find("user_ids");
               if (ids == body->end() || !ids->is_array() || ids->size() > 2000)
                 return error_response(ApiError::bad_request("user_ids must be an array of at most 2000 ids"));
               nlohmann::json list = nlohmann::json::array();
               for (const auto& id : *ids) {
                 if (!id.is_string()) return error_response(ApiError::bad_request("user_ids must be strings"));
                 if (auto m = teams.member(req.param("tid"), id.get<std::string>())) list.push_back(member_json(*m));
               }
               return json_response(200, {{"members", list}, {"hasMore", false}});
             });
}

}  // namespace wirebox::teams
