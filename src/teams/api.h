// HTTP routes of the teams module: GET /teams, /teams/{tid}, team members, invitations (create,
// list, look up by code; the invitee registers with `team_code`), and the feature configuration
// every client reads at start-up (GET /feature-configs).
#pragma once

#include <cstdint>
#include <string>

#include "http/router.h"
#include "teams/team_store.h"

namespace wirebox::teams {

nlohmann::json team_json(const Team& team);
nlohmann::json member_json(const TeamMember& member);
// The fixed feature set wirebox offers (MLS off, calling and file sharing on, ...).
nlohmann::json feature_configs();

struct TeamsOptions {
  std::string domain;
  int64_t invitation_ttl_ms = int64_t{14} * 24 * 3600 * 1000;  // teams.invitation_ttl_seconds
};

// {team, role, id, created_at, created_by, email, name, url}. wirebox sends no e-mail, so the
// join URL (with the code) is always shown to the inviting admin, as wire-server does with
// exposeInvitationURLsToTeamAdmin.
nlohmann::json invitation_json(const Invitation& invitation, const std::string& domain);

void register_routes(http::Router& router, TeamStore& teams, const TeamsOptions& options);

}  // namespace wirebox::teams
