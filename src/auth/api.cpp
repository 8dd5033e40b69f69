#include "auth/api.h"

#include "core/ids.h"

namespace wirebox::auth {

void register_routes(http::Router& router, SessionService& sessions) {
  using namespace http;
  router.add(Verb::post, "/access", Access::kPublic, [&sessions](Request& req) {
    std::optional<std::string> client_id = req.query_param("client_id");
    if (client_id && !is_client_id(*client_id)) return error_response(ApiError::bad_request("Invalid client_id"));
    auto r = sessions.refresh(SessionService::cookie_from_header(req.header("Cookie")), client_id);
    if (!r) return error_response(r.error());
    Response resp = json_response(200, r->access);
    if (r->set_cookie) resp.with_header("Set-Cookie", *r->set_cookie);
    return resp;
  });
  router.add(Verb::post, "/access/logout", Access::kPublic, [&sessions](Request& req) {
    auto s = sessions.logout(SessionService::cookie_from_header(req.header("Cookie")));
    if (!s) return error_response(s.error());
    // Expire the cookie in browsers too.
    return empty_response(200).with_header("Set-Cookie",
                                           "zuid=; Path=/access; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure");
  });
}

}  // namespace wirebox::auth
