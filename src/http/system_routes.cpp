#include "http/system_routes.h"

namespace wirebox::http {

const std::vector<int>& supported_api_versions() {
  static const std::vector<int> v = {8};
  return v;
}

void register_system_routes(Router& router, const std::string& domain) {
  router.add(Verb::get, "/healthz", Access::kPublic,
             [](Request&) { return json_response(200, {{"status", "ok"}}); }, Exec::kInline);
  // Serialised once: this is the hottest unauthenticated endpoint.
  std::string body = nlohmann::json{{"supported", supported_api_versions()},
                                    {"development", nlohmann::json::array()},
                                    {"domain", domain},
                                    {"federation", false}}
                         .dump();
  router.add(Verb::get, "/api-version", Access::kPublic, [body](Request&) {
    Response r;
    r.body = body;
    r.content_type = "application/json";
    return r;
  }, Exec::kInline);
}

}  // namespace wirebox::http
