// HTTP routes of the teams module: GET /teams, /teams/{tid}, team members, and the feature
// configuration every client reads at start-up (GET /feature-configs).
#pragma once

#include "http/router.h"
#include "teams/team_store.h"

namespace wirebox::teams {

nlohmann::json team_json(const Team& team);
nlohmann::json member_json(const TeamMember& member);
// The fixed feature set wirebox offers (MLS off, calling and file sharing on, ...).
nlohmann::json feature_configs();

void register_routes(http::Router& router, TeamStore& teams);

}  // namespace wirebox::teams
