// HTTP routes of the auth module: POST /access (cookie → access token) and
// POST /access/logout. Both are unversioned in the official client. Login and registration
// live in users/, which opens sessions through SessionService.
#pragma once

#include "auth/session_service.h"
#include "http/router.h"

namespace wirebox::auth {

void register_routes(http::Router& router, SessionService& sessions);

}  // namespace wirebox::auth
