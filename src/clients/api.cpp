#include "clients/api.h"

#include <set>

#include "auth/password.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/json_fields.h"
#include "core/time.h"

namespace wirebox::clients {

using namespace http;
using nlohmann::json;

namespace {

Result<Prekey> parse_prekey(const json& j, bool last_resort) {
  if (!j.is_object()) return ApiError::bad_request("prekey must be an object {id, key}");
  auto id = json_fields::opt_int(j, "id", 0, 65535);
  if (!id) return id.error();
  if (!id.value()) return ApiError::bad_request("prekey id is required");
  // A Proteus prekey is ~100 base64 characters; 1024 leaves room without letting each of a
  // client's 65535 ids hold 8 KiB (512 MiB per client).
  auto key = json_fields::req_string(j, "key", 1, 1024);
  if (!key) return key.error();
  if (!base64_decode(*key)) return ApiError::bad_request("prekey key must be base64");
  if (last_resort != (*id.value() == kLastResortPrekeyId))
    return ApiError{400, "bad-request", last_resort ? "lastkey must have id 65535" : "prekey id 65535 is reserved"};
  return Prekey{*id.value(), *key};
}

Result<std::vector<Prekey>> parse_prekeys(const json& body, bool required) {
  std::vector<Prekey> out;
  auto it = body.find("prekeys");
  if (it == body.end() || it->is_null()) {
    if (required) return ApiError::bad_request("prekeys is required");
    return out;
  }
  if (!it->is_array() || it->size() > 1024) return ApiError::bad_request("prekeys must be an array of at most 1024");
  std::set<int64_t> seen;
  for (const auto& p : *it) {
    auto k = parse_prekey(p, false);
    if (!k) return k.error();
    if (!seen.insert(k->id).second) return ApiError::bad_request("duplicate prekey id");
    out.push_back(*k);
  }
  return out;
}

Result<std::optional<std::vector<std::string>>> parse_capabilities(const json& body) {
  auto it = body.find("capabilities");
  if (it == body.end() || it->is_null()) return std::optional<std::vector<std::string>>{};
  if (!it->is_array() || it->size() > 32) return ApiError::bad_request("capabilities must be an array of strings");
  std::vector<std::string> caps;
  for (const auto& c : *it) {
    if (!c.is_string() || c.get<std::string>().size() > 64)
      return ApiError::bad_request("capabilities must be an array of strings");
    caps.push_back(c.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(caps);
}

json prekey_json(const Prekey& p) { return {{"id", p.id}, {"key", p.key}}; }

}  // namespace

json self_client_json(const Client& c) {
  json j = {{"id", c.id},          {"type", c.type},
            {"class", c.cls},      {"time", iso8601_ms(c.created_at_ms)},
            {"capabilities", c.capabilities}, {"mls_public_keys", json::object()},
            {"last_active", iso8601_ms(c.last_active_ms)}};
  if (!c.label.empty()) j["label"] = c.label;
  if (!c.model.empty()) j["model"] = c.model;
  if (!c.cookie_label.empty()) j["cookie"] = c.cookie_label;
  return j;
}

json public_client_json(const Client& c) { return {{"id", c.id}, {"class", c.cls}}; }

ClientsApi::ClientsApi(ClientsOptions options, ClientStore& clients, users::UserStore& users,
                       auth::SessionService& sessions, notifications::EventPublisher& events)
    : options_(std::move(options)),
      clients_(clients),
      users_(users),
      sessions_(sessions),
      events_(events),
      wrong_passwords_(options_.password_attempts_per_minute) {}

Status ClientsApi::reauthenticate(const Request& req, const json& body) {
  auto password = json_fields::opt_string(body, "password", 1, 1024);
  if (!password) return password.error();
  if (!password.value()) return ApiError{403, "missing-auth", "Re-authentication via password required"};
  const std::string& user = req.identity.user_id;
  int64_t now = now_ms();
  // A place is reserved before the check and given back when the password is right.
  if (!wrong_passwords_.allow(user, now)) return ApiError{429, "client-error", "Too many wrong passwords, retry later"};
  auto hash = users_.password_hash(user);
  if (!hash || !auth::verify_password(*password.value(), *hash)) return ApiError::authentication_failed();
  wrong_passwords_.give_back(user, now);
  return {};
}

void ClientsApi::register_routes(Router& router) {
  auto bind = [this](Response (ClientsApi::*fn)(Request&)) {
    return [this, fn](Request& r) { return (this->*fn)(r); };
  };
  router.add(Verb::post, "/clients", Access::kUser, bind(&ClientsApi::add_client));
  router.add(Verb::get, "/clients", Access::kUser, [this](Request& req) {
    json list = json::array();
    for (const auto& c : clients_.list(req.identity.user_id)) list.push_back(self_client_json(c));
    return json_response(200, list);
  });
  router.add(Verb::get, "/clients/{cid}", Access::kUser, [this](Request& req) {
    auto c = clients_.find(req.identity.user_id, req.param("cid"));
    if (!c) return error_response({404, "client-not-found", "Client not found"});
    return json_response(200, self_client_json(*c));
  });
  router.add(Verb::put, "/clients/{cid}", Access::kUser, bind(&ClientsApi::update_client));
  router.add(Verb::delete_, "/clients/{cid}", Access::kUser, bind(&ClientsApi::delete_client));
  router.add(Verb::get, "/clients/{cid}/prekeys", Access::kUser, [this](Request& req) {
    if (!clients_.find(req.identity.user_id, req.param("cid")))
      return error_response({404, "client-not-found", "Client not found"});
    return json_response(200, clients_.prekey_ids(req.identity.user_id, req.param("cid")));
  });
  router.add(Verb::get, "/clients/{cid}/capabilities", Access::kUser, [this](Request& req) {
    auto c = clients_.find(req.identity.user_id, req.param("cid"));
    if (!c) return error_response({404, "client-not-found", "Client not found"});
    return json_response(200, c->capabilities);
  });

  auto local_user = [this](Request& req) -> Result<std::string> {
    auto uid = normalize_uuid(req.param("uid"));
    if (!uid) return ApiError::bad_request("Invalid user id");
    if (req.param("domain") != options_.domain || !users_.find(*uid))
      return ApiError{404, "not-found", "User not found"};
    return *uid;
  };
  router.add(Verb::get, "/users/{domain}/{uid}/clients", Access::kUser, [this, local_user](Request& req) {
    auto uid = local_user(req);
    if (!uid) return error_response(uid.error());
    json list = json::array();
    for (const auto& c : clients_.list(*uid)) list.push_back(public_client_json(c));
    return json_response(200, list);
  });
  router.add(Verb::get, "/users/{domain}/{uid}/clients/{cid}", Access::kUser, [this, local_user](Request& req) {
    auto uid = local_user(req);
    if (!uid) return error_response(uid.error());
    auto c = clients_.find(*uid, req.param("cid"));
    if (!c) return error_response({404, "client-not-found", "Client not found"});
    return json_response(200, public_client_json(*c));
  });
  router.add(Verb::get, "/users/{domain}/{uid}/prekeys", Access::kUser, bind(&ClientsApi::user_prekeys));
  router.add(Verb::get, "/users/{domain}/{uid}/prekeys/{cid}", Access::kUser, [this, local_user](Request& req) {
    auto uid = local_user(req);
    if (!uid) return error_response(uid.error());
    auto p = clients_.claim(*uid, req.param("cid"));
    if (!p) return error_response({404, "client-not-found", "Client not found"});
    return json_response(200, {{"client", req.param("cid")}, {"prekey", prekey_json(*p)}});
  });
  router.add(Verb::post, "/users/list-prekeys", Access::kUser, bind(&ClientsApi::list_prekeys));
  router.add(Verb::post, "/users/list-clients", Access::kUser, bind(&ClientsApi::list_clients));
}

Response ClientsApi::add_client(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  NewClient n;
  auto type = json_fields::req_string(*body, "type", 1, 32);
  if (!type) return error_response(type.error());
  if (*type != "permanent" && *type != "temporary")
    return error_response(ApiError::bad_request("type must be permanent or temporary"));
  n.client.type = *type;
  auto cls = json_fields::opt_string(*body, "class", 1, 32);
  if (!cls) return error_response(cls.error());
  n.client.cls = cls.value().value_or("desktop");
  if (n.client.cls != "desktop" && n.client.cls != "phone" && n.client.cls != "tablet")
    return error_response(ApiError::bad_request("class must be desktop, phone or tablet"));
  for (auto [key, field] : {std::pair{"label", &n.client.label}, std::pair{"model", &n.client.model},
                            std::pair{"cookie", &n.client.cookie_label}}) {
    auto v = json_fields::opt_string(*body, key, 0, 256);
    if (!v) return error_response(v.error());
    *field = v.value().value_or("");
  }
  auto lastkey = body->find("lastkey");
  if (lastkey == body->end()) return error_response(ApiError::bad_request("lastkey is required"));
  auto last = parse_prekey(*lastkey, true);
  if (!last) return error_response(last.error());
  n.last_resort = *last;
  auto prekeys = parse_prekeys(*body, true);
  if (!prekeys) return error_response(prekeys.error());
  n.prekeys = std::move(*prekeys);
  auto caps = parse_capabilities(*body);
  if (!caps) return error_response(caps.error());
  n.client.capabilities = caps.value().value_or(std::vector<std::string>{});

  // As wire-server: the first client needs no password, later ones do.
  if (!clients_.list(req.identity.user_id).empty())
    if (auto s = reauthenticate(req, *body); !s) return error_response(s.error());

  std::string replaced;
  auto client = clients_.add(req.identity.user_id, std::move(n), options_.max_permanent, &replaced);
  if (!client) return error_response(client.error());
  if (!replaced.empty()) {
    events_.publish_one({req.identity.user_id, {}, json::array({{{"type", "user.client-remove"},
                                                               {"client", {{"id", replaced}}}}})});
    if (on_removed_) on_removed_(req.identity.user_id, replaced);
  }
  // Visible to every client of the user, the new one included (core reads it right away via
  // GET /notifications/last).
  auto queued = events_.publish_one(
      {req.identity.user_id, {}, json::array({{{"type", "user.client-add"}, {"client", self_client_json(*client)}}})});
  if (!queued) return error_response(queued.error());
  return json_response(201, self_client_json(*client)).with_header("Location", "/clients/" + client->id);
}

Response ClientsApi::update_client(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  ClientUpdate u;
  auto prekeys = parse_prekeys(*body, false);
  if (!prekeys) return error_response(prekeys.error());
  u.prekeys = std::move(*prekeys);
  if (auto lk = body->find("lastkey"); lk != body->end() && !lk->is_null()) {
    auto last = parse_prekey(*lk, true);
    if (!last) return error_response(last.error());
    u.last_resort = *last;
  }
  auto label = json_fields::opt_string(*body, "label", 0, 256);
  if (!label) return error_response(label.error());
  u.label = label.value();
  auto caps = parse_capabilities(*body);
  if (!caps) return error_response(caps.error());
  u.capabilities = caps.value();
  auto s = clients_.update(req.identity.user_id, req.param("cid"), u);
  return s ? empty_response(200) : error_response(s.error());
}

Response ClientsApi::delete_client(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto client = clients_.find(req.identity.user_id, req.param("cid"));
  if (!client) return error_response({404, "client-not-found", "Client not found"});
  if (client->type == "permanent")
    if (auto s = reauthenticate(req, *body); !s) return error_response(s.error());
  if (auto s = clients_.remove(req.identity.user_id, client->id); !s) return error_response(s.error());
  // The device is gone: so is what it logged in with (a stolen or lost device stays locked out).
  if (auto s = sessions_.logout_client(req.identity.user_id, client->id, client->cookie_label); !s)
    return error_response(s.error());
  events_.publish_one({req.identity.user_id, {},
                       json::array({{{"type", "user.client-remove"}, {"client", {{"id", client->id}}}}})});
  if (on_removed_) on_removed_(req.identity.user_id, client->id);
  return empty_response(200);
}

Response ClientsApi::user_prekeys(Request& req) {
  auto uid = normalize_uuid(req.param("uid"));
  if (!uid) return error_response(ApiError::bad_request("Invalid user id"));
  if (req.param("domain") != options_.domain || !users_.find(*uid))
    return error_response({404, "not-found", "User not found"});
  json list = json::array();
  for (const auto& c : clients_.list(*uid))
    if (auto p = clients_.claim(*uid, c.id)) list.push_back({{"client", c.id}, {"prekey", prekey_json(*p)}});
  return json_response(200, {{"user", *uid}, {"clients", list}});
}

Response ClientsApi::list_prekeys(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  json result = json::object();
  json failed = json::array();
  size_t users_seen = 0, clients_seen = 0;
  for (const auto& [domain, users] : body->items()) {
    if (!users.is_object()) return error_response(ApiError::bad_request("expected {domain: {user: [client]}}"));
    for (const auto& [uid_raw, cids] : users.items()) {
      if (++users_seen > 128) return error_response({400, "too-many-clients", "Too many users requested"});
      auto uid = normalize_uuid(uid_raw);
      if (!uid || !cids.is_array()) return error_response(ApiError::bad_request("expected {domain: {user: [client]}}"));
      if (domain != options_.domain) {
        failed.push_back({{"id", *uid}, {"domain", domain}});
        continue;
      }
      json per_client = json::object();
      for (const auto& cid : cids) {
        if (!cid.is_string()) return error_response(ApiError::bad_request("client ids must be strings"));
        if (++clients_seen > 1024) return error_response({400, "too-many-clients", "Too many clients requested"});
        auto p = clients_.claim(*uid, cid.get<std::string>());
        per_client[cid.get<std::string>()] = p ? prekey_json(*p) : json(nullptr);
      }
      result[domain][*uid] = per_client;
    }
  }
  json out = {{"qualified_user_client_prekeys", result}};
  if (!failed.empty()) out["failed_to_list"] = failed;
  return json_response(200, out);
}

Response ClientsApi::list_clients(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto users = body->find("qualified_users");
  if (users == body->end() || !users->is_array() || users->size() > 500)
    return error_response(ApiError::bad_request("qualified_users must be an array of at most 500 ids"));
  std::vector<std::string> local;
  json map = json::object();
  for (const auto& q : *users) {
    if (!q.is_object()) return error_response(ApiError::bad_request("qualified_users entries must be objects"));
    auto id = json_fields::req_string(q, "id", 36, 36);
    auto domain = json_fields::req_string(q, "domain", 1, 255);
    if (!id || !domain || !is_uuid(*id))
      return error_response(ApiError::bad_request("qualified_users entries need a UUID id and a domain"));
    if (*domain == options_.domain) local.push_back(*normalize_uuid(*id));
  }
  map[options_.domain] = json::object();
  for (const auto& [uid, list] : clients_.list_many(local)) {
    json arr = json::array();
    for (const auto& c : list) arr.push_back(public_client_json(c));
    map[options_.domain][uid] = arr;
  }
  return json_response(200, {{"qualified_user_map", map}});
}

}  // namespace wirebox::clients
