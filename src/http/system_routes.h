// Routes every deployment answers regardless of modules: GET /healthz (liveness, no auth,
// no disk) and GET /api-version (the client picks its API version and learns the domain).
#pragma once

#include <string>
#include <vector>

#include "http/router.h"

namespace wirebox::http {

// API versions wireboxd serves. The official api-client 27.x picks the highest it knows (8).
const std::vector<int>& supported_api_versions();

void register_system_routes(Router& router, const std::string& domain);

}  // namespace wirebox::http
