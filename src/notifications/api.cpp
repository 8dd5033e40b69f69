#include "notifications/api.h"

#include "core/ids.h"
#include "core/time.h"

namespace wirebox::notifications {

using namespace http;

namespace {

// A page also ends once its events reach this much JSON: counted only, a page of 10000 (what the
// official client asks for) of large messages was gigabytes of memory for one request.
constexpr size_t kMaxPageBytes = 16u << 20;

nlohmann::json to_json(const Notification& n) { return {{"id", n.id}, {"payload", n.payload}}; }

// The client named in the query, else the one the token is bound to.
Result<std::string> client_of(const Request& req) {
  std::string client = req.query_param("client").value_or(req.identity.client_id);
  if (!client.empty() && !is_client_id(client)) return ApiError::bad_request("Invalid client id");
  return client;
}

}  // namespace

void register_routes(Router& router, NotificationStore& store) {
  router.add(Verb::get, "/notifications", Access::kUser, [&store](Request& req) {
    auto client = client_of(req);
    if (!client) return error_response(client.error());
    std::string since = req.query_param("since").value_or("");
    if (!since.empty() && !is_uuid(since)) return error_response(ApiError::bad_request("Invalid Notification ID"));
    size_t size = 1000;
    if (auto s = req.query_param("size")) {
      try {
        size = static_cast<size_t>(std::stoul(*s));
      } catch (...) {
        return error_response(ApiError::bad_request("size must be a number"));
      }
      size = std::clamp<size_t>(size, 100, 10000);
    }
    auto page = store.list(req.identity.user_id, *client, since, size, kMaxPageBytes);
    if (!page) return error_response(page.error());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& n : page->notifications) list.push_back(to_json(n));
    return json_response(200, {{"notifications", list}, {"has_more", page->has_more}, {"time", iso8601_ms(now_ms())}});
  });

  router.add(Verb::get, "/notifications/last", Access::kUser, [&store](Request& req) {
    auto client = client_of(req);
    if (!client) return error_response(client.error());
    auto n = store.last(req.identity.user_id, *client);
    if (!n) return error_response({404, "not-found", "Some notifications not found"});
    return json_response(200, to_json(*n));
  });

  router.add(Verb::get, "/notifications/{id}", Access::kUser, [&store](Request& req) {
    auto client = client_of(req);
    if (!client) return error_response(client.error());
    if (!is_uuid(req.param("id"))) return error_response(ApiError::bad_request("Invalid Notification ID"));
    auto n = store.find(req.identity.user_id, *client, req.param("id"));
    if (!n) return error_response({404, "not-found", "Some notifications not found"});
    return json_response(200, to_json(*n));
  });
}

}  // namespace wirebox::notifications
