#include "users/api.h"

#include <chrono>
#include <set>

#include "assets/asset_key.h"
#include "auth/password.h"
#include "core/email.h"
#include "core/ids.h"
#include "core/json_fields.h"
#include "core/time.h"

namespace wirebox::users {

using namespace http;
using nlohmann::json;

namespace {

// assets: [{key, size: "preview"|"complete", type: "image", domain?}]
Result<std::string> validate_assets(const json& assets, const std::string& domain) {
  if (!assets.is_array() || assets.size() > 16) return ApiError::bad_request("assets must be an array (max 16)");
  json out = json::array();
  for (const auto& a : assets) {
    if (!a.is_object()) return ApiError::bad_request("assets entries must be objects");
    auto key = json_fields::req_string(a, "key", 1, 256);
    if (!key) return key.error();
    // Other users fetch the picture by this key: only a key the asset store could have issued
    // ("3-<retention>-<uuid>") is kept, as wire-server parses it into an AssetKey.
    if (!assets::is_asset_key(*key)) return ApiError::bad_request("assets key is not an asset key");
    auto size = json_fields::opt_string(a, "size", 1, 16);
    if (!size) return size.error();
    std::string sz = size.value().value_or("complete");
    if (sz != "preview" && sz != "complete") return ApiError::bad_request("assets size must be preview or complete");
    auto d = json_fields::opt_string(a, "domain", 1, 255);
    if (!d) return d.error();
    out.push_back({{"key", *key}, {"size", sz}, {"type", "image"}, {"domain", d.value().value_or(domain)}});
  }
  return out.dump();
}

json qualified(const std::string& id, const std::string& domain) { return {{"id", id}, {"domain", domain}}; }

}  // namespace

bool is_valid_handle(const std::string& h) {
  if (h.size() < 2 || h.size() > 256) return false;
  for (char c : h)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

bool is_reserved_handle(const std::string& h) {
  // Names a user could take to pass for the operator or its staff. Like wire-server's reserved
  // handles they count as taken: never free in POST /handles, 200 in HEAD, 409 on PUT.
  static const std::set<std::string> kReserved = {
      "abuse",   "account",   "admin",  "administrator", "all",      "billing",   "bot",       "everyone",
      "help",    "helpdesk",  "info",   "legal",         "moderator", "noreply",  "official",  "operator",
      "postmaster", "root",   "security", "staff",        "support",  "sysadmin", "system",    "team",
      "webmaster", "wire",    "wirebox", "wireteam"};
  return kReserved.count(h) > 0;
}

json public_user_json(const User& u, const std::string& domain) {
  json j = {{"id", u.id},
            {"qualified_id", qualified(u.id, domain)},
            {"name", u.name},
            {"accent_id", u.accent_id},
            {"assets", json::parse(u.assets_json, nullptr, false)},
            {"picture", json::array()},
            {"legalhold_status", "no_consent"},
            {"supported_protocols", {"proteus"}}};
  if (j["assets"].is_discarded()) j["assets"] = json::array();
  if (!u.handle.empty()) j["handle"] = u.handle;
  if (!u.team_id.empty()) j["team"] = u.team_id;
  if (u.status == "deleted") j["deleted"] = true;
  return j;
}

json self_json(const User& u, const std::string& domain) {
  json j = public_user_json(u, domain);
  j.erase("legalhold_status");
  if (!u.email.empty()) j["email"] = u.email;
  j["locale"] = u.locale;
  j["managed_by"] = "wire";
  return j;
}

UsersApi::UsersApi(UsersOptions options, UserStore& users, teams::TeamStore& teams, auth::SessionService& sessions,
                   notifications::EventPublisher& events)
    : options_(std::move(options)),
      users_(users),
      teams_(teams),
      sessions_(sessions),
      events_(events),
      per_address_(options_.login_attempts_per_minute * 10),
      registrations_per_address_(options_.registrations_per_minute),
      per_account_(options_.login_attempts_per_minute),
      dummy_hash_(auth::hash_password("wirebox-dummy-password", options_.password_log2_n)) {}

void UsersApi::register_routes(Router& router) {
  auto bind = [this](Response (UsersApi::*fn)(Request&)) { return [this, fn](Request& r) { return (this->*fn)(r); }; };
  router.add(Verb::post, "/register", Access::kPublic, bind(&UsersApi::register_user));
  router.add(Verb::post, "/login", Access::kPublic, bind(&UsersApi::login));
  router.add(Verb::get, "/self", Access::kUser, bind(&UsersApi::get_self));
  router.add(Verb::put, "/self", Access::kUser, bind(&UsersApi::put_self));
  router.add(Verb::put, "/self/handle", Access::kUser, bind(&UsersApi::put_handle));
  router.add(Verb::put, "/self/supported-protocols", Access::kUser, [](Request& req) {
    auto body = req.json_object();
    if (!body) return error_response(body.error());
    return empty_response(200);
  }, Exec::kInline);
  router.add(Verb::head, "/handles/{handle}", Access::kUser, bind(&UsersApi::head_handle));
  router.add(Verb::head, "/users/handles/{handle}", Access::kUser, bind(&UsersApi::head_handle));
  router.add(Verb::post, "/handles", Access::kUser, bind(&UsersApi::post_handles));
  router.add(Verb::get, "/users/{domain}/{uid}", Access::kUser, bind(&UsersApi::get_user));
  router.add(Verb::get, "/users/by-handle/{domain}/{handle}", Access::kUser, bind(&UsersApi::get_user_by_handle));
  router.add(Verb::get, "/users/{domain}/{uid}/supported-protocols", Access::kUser, [this](Request& req) {
    if (req.param("domain") != options_.domain || !users_.find(req.param("uid")))
      return error_response({404, "not-found", "User not found"});
    return json_response(200, json::array({"proteus"}));
  });
  router.add(Verb::post, "/list-users", Access::kUser, bind(&UsersApi::list_users));
  router.add(Verb::get, "/search/contacts", Access::kUser, bind(&UsersApi::search_contacts));

  router.add(Verb::get, "/properties", Access::kUser, [this](Request& req) {
    return json_response(200, users_.property_keys(req.identity.user_id));
  });
  router.add(Verb::get, "/properties-values", Access::kUser, [this](Request& req) {
    json out = json::object();
    for (const auto& k : users_.property_keys(req.identity.user_id))
      if (auto v = users_.property(req.identity.user_id, k)) out[k] = json::parse(*v, nullptr, false);
    return json_response(200, out);
  });
  router.add(Verb::get, "/properties/{key}", Access::kUser, [this](Request& req) {
    auto v = users_.property(req.identity.user_id, req.param("key"));
    if (!v) return error_response({404, "not-found", "Property not found"});
    Response r;
    r.body = *v;
    r.content_type = "application/json";
    return r;
  });
  router.add(Verb::put, "/properties/{key}", Access::kUser, bind(&UsersApi::put_property));
  router.add(Verb::delete_, "/properties/{key}", Access::kUser, [this](Request& req) {
    auto s = users_.delete_property(req.identity.user_id, req.param("key"));
    return s ? empty_response(200) : error_response(s.error());
  });
  router.add(Verb::delete_, "/properties", Access::kUser, [this](Request& req) {
    auto s = users_.clear_properties(req.identity.user_id);
    return s ? empty_response(200) : error_response(s.error());
  });
}

Response UsersApi::register_user(Request& req) {
  if (!options_.registration_open)
    return error_response({403, "registration-disabled", "Registration is closed on this server"});
  // Each registration hashes a password (scrypt, tens of milliseconds of a pool thread): without
  // a limit one client could keep the blocking pool busy with sign-ups.
  if (!registrations_per_address_.allow(auth::address_limit_key(req.remote_address), now_ms()))
    return error_response({429, "client-error", "Too many registrations from this address, retry later"});
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto name = json_fields::req_string(*body, "name", 1, 128);
  if (!name) return error_response(name.error());
  auto email = json_fields::req_string(*body, "email", 3, 254);
  if (!email) return error_response(email.error());
  if (!is_valid_email(*email)) return error_response({400, "invalid-email", "Invalid e-mail address."});
  auto password = json_fields::req_string(*body, "password", 8, 1024);
  if (!password) return error_response(password.error());
  auto accent = json_fields::opt_int(*body, "accent_id", 0, 0x7fffffff);
  if (!accent) return error_response(accent.error());
  auto locale = json_fields::opt_string(*body, "locale", 2, 32);
  if (!locale) return error_response(locale.error());
  auto label = json_fields::opt_string(*body, "label", 0, 256);
  if (!label) return error_response(label.error());

  std::optional<std::string> team_name, team_icon, team_icon_key;
  if (auto t = body->find("team"); t != body->end() && !t->is_null()) {
    if (!t->is_object()) return error_response(ApiError::bad_request("team must be an object"));
    auto n = json_fields::req_string(*t, "name", 1, 256);
    if (!n) return error_response(n.error());
    auto icon = json_fields::opt_string(*t, "icon", 1, 256);
    if (!icon) return error_response(icon.error());
    auto icon_key = json_fields::opt_string(*t, "icon_key", 1, 256);
    if (!icon_key) return error_response(icon_key.error());
    team_name = *n;
    team_icon = icon.value().value_or("default");
    team_icon_key = icon_key.value().value_or("");
  }
  // Joining a team through an invitation: the code must be live and issued for this e-mail.
  auto team_code = json_fields::opt_string(*body, "team_code", 1, 128);
  if (!team_code) return error_response(team_code.error());
  std::optional<teams::Invitation> invitation;
  if (team_code.value()) {
    if (team_name) return error_response(ApiError::bad_request("team and team_code exclude each other"));
    invitation = teams_.invitation_by_code(*team_code.value(), now_ms() - options_.invitation_ttl_ms);
    auto lower = [](std::string s) {
      for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return s;
    };
    if (!invitation || lower(invitation->email) != lower(*email))
      return error_response({400, "invalid-invitation-code", "Invalid invitation code."});
    // The invitation speaks for its inviter only while they could still issue it: removed from
    // the team or demoted, an admin could otherwise come back through codes they made earlier.
    auto inviter = teams_.member(invitation->team_id, invitation->created_by);
    auto granted = teams::role_permissions(invitation->role);
    if (!inviter || !granted || !teams::may_invite(inviter->permissions, *granted))
      return error_response({400, "invalid-invitation-code", "Invalid invitation code."});
  }

  NewUser n;
  n.name = *name;
  n.email = *email;
  n.password_hash = auth::hash_password(*password, options_.password_log2_n);
  n.accent_id = accent.value().value_or(0);
  n.locale = locale.value().value_or("en");
  auto user = users_.create(n);
  if (!user) return error_response(user.error());
  if (team_name) {
    auto team = teams_.create(user->id, *team_name, *team_icon, *team_icon_key);
    if (team) {
      auto s = users_.set_team(user->id, team->id);
      if (s) {
        user->team_id = team->id;
      } else {
        teams_.remove(team->id);
        team = s.error();
      }
    }
    if (!team) {
      users_.remove(user->id);  // compensate: registration is all or nothing
      return error_response(team.error());
    }
  }
  if (invitation) {
    teams::TeamMember member{user->id, *teams::role_permissions(invitation->role), invitation->created_by, now_ms()};
    auto joined = teams_.accept_invitation(*invitation, member);
    if (joined) {
      joined = users_.set_team(user->id, invitation->team_id);
      if (!joined) teams_.remove_member(invitation->team_id, user->id);
    }
    if (!joined) {
      users_.remove(user->id);  // compensate: registration is all or nothing
      return error_response(joined.error());
    }
    user->team_id = invitation->team_id;
    // wire-server tells every team member (the newcomer included) with team.member-join.
    nlohmann::json event = {{"type", "team.member-join"},
                            {"team", invitation->team_id},
                            {"time", iso8601_ms(member.created_at_ms)},
                            {"data", {{"user", user->id}}}};
    std::vector<notifications::Delivery> deliveries;
    for (const auto& m : teams_.members(invitation->team_id))
      deliveries.push_back({m.user_id, {}, nlohmann::json::array({event})});
    if (auto s = events_.publish(deliveries); !s) return error_response(s.error());
  }
  auto session = sessions_.open(user->id, true, label.value().value_or(""));
  if (!session) return error_response(session.error());
  return json_response(201, self_json(*user, options_.domain))
      .with_header("Set-Cookie", session->set_cookie)
      .with_header("Location", "/self");
}

Response UsersApi::login(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto email = json_fields::opt_string(*body, "email", 1, 254);
  if (!email) return error_response(email.error());
  auto handle = json_fields::opt_string(*body, "handle", 1, 256);
  if (!handle) return error_response(handle.error());
  auto password = json_fields::req_string(*body, "password", 1, 1024);
  if (!password) return error_response(password.error());
  auto label = json_fields::opt_string(*body, "label", 0, 256);
  if (!label) return error_response(label.error());
  if (!email.value() && !handle.value()) return error_response(ApiError::bad_request("email or handle is required"));

  const ApiError too_frequent{429, "client-error", "Logins too frequent"};
  int64_t now = now_ms();
  if (!per_address_.allow(auth::address_limit_key(req.remote_address), now)) return error_response(too_frequent);
  auto user = email.value() ? users_.find_by_email(*email.value()) : users_.find_by_handle(*handle.value());
  // Failures count per account (by email and by handle alike) and, once used up, refuse every
  // attempt, the right password too: checked only after a wrong one, the limit told a guesser
  // nothing and let the right guess in.
  std::string account = user ? "user:" + user->id : email.value() ? "email:" + *email.value() : "handle:" + *handle.value();
  for (char& c : account) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!per_account_.allow(account, now)) return error_response(too_frequent);  // reserved, given back on success
  std::string hash = user ? users_.password_hash(user->id).value_or(dummy_hash_) : dummy_hash_;
  bool ok = auth::verify_password(*password, hash) && user.has_value();
  if (!ok) return error_response(ApiError::authentication_failed());
  per_account_.give_back(account, now);
  if (user->status == "suspended") return error_response({403, "suspended", "Account suspended."});
  bool persist = req.query_param("persist").value_or("false") == "true";
  auto session = sessions_.open(user->id, persist, label.value().value_or(""));
  if (!session) return error_response(session.error());
  return json_response(200, session->access).with_header("Set-Cookie", session->set_cookie);
}

Response UsersApi::get_self(Request& req) {
  auto user = users_.find(req.identity.user_id);
  if (!user) return error_response(ApiError::unauthorized("User no longer exists"));
  return json_response(200, self_json(*user, options_.domain));
}

Response UsersApi::put_self(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  ProfileUpdate u;
  auto name = json_fields::opt_string(*body, "name", 1, 128);
  if (!name) return error_response(name.error());
  u.name = name.value();
  auto accent = json_fields::opt_int(*body, "accent_id", 0, 0x7fffffff);
  if (!accent) return error_response(accent.error());
  u.accent_id = accent.value();
  if (auto a = body->find("assets"); a != body->end() && !a->is_null()) {
    auto assets = validate_assets(*a, options_.domain);
    if (!assets) return error_response(assets.error());
    u.assets_json = *assets;
  }
  auto s = users_.update_profile(req.identity.user_id, u);
  return s ? empty_response(200) : error_response(s.error());
}

Response UsersApi::put_handle(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto handle = json_fields::req_string(*body, "handle", 1, 256);
  if (!handle) return error_response(handle.error());
  if (!is_valid_handle(*handle)) return error_response({400, "invalid-handle", "The given handle is invalid."});
  auto owner = users_.find_by_handle(*handle);
  if (owner && owner->id == req.identity.user_id) return empty_response(200);  // wirectl may hand out a reserved one
  if (is_reserved_handle(*handle)) return error_response({409, "handle-exists", "The given handle is already taken."});
  auto s = users_.set_handle(req.identity.user_id, *handle);
  return s ? empty_response(200) : error_response(s.error());
}

Response UsersApi::head_handle(Request& req) {
  const std::string& h = req.param("handle");
  if (!is_valid_handle(h)) return empty_response(400);
  return empty_response(is_reserved_handle(h) || users_.handle_taken(h) ? 200 : 404);
}

Response UsersApi::post_handles(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  auto handles = body->find("handles");
  if (handles == body->end() || !handles->is_array() || handles->empty() || handles->size() > 50)
    return error_response(ApiError::bad_request("handles must be an array of 1 to 50 handles"));
  auto ret = json_fields::opt_int(*body, "return", 1, 10);
  if (!ret) return error_response(ret.error());
  size_t want = static_cast<size_t>(ret.value().value_or(1));
  json free = json::array();
  for (const auto& h : *handles) {
    if (!h.is_string()) return error_response(ApiError::bad_request("handles must be strings"));
    std::string s = h.get<std::string>();
    if (is_valid_handle(s) && !is_reserved_handle(s) && !users_.handle_taken(s) && free.size() < want) free.push_back(s);
  }
  return json_response(200, free);
}

Response UsersApi::get_user(Request& req) {
  auto uid = normalize_uuid(req.param("uid"));
  if (!uid) return error_response(ApiError::bad_request("Invalid user id"));
  if (req.param("domain") != options_.domain) return error_response({404, "not-found", "User not found"});
  auto user = users_.find(*uid);
  if (!user) return error_response({404, "not-found", "User not found"});
  return json_response(200, public_user_json(*user, options_.domain));
}

Response UsersApi::get_user_by_handle(Request& req) {
  if (req.param("domain") != options_.domain) return error_response({404, "not-found", "User not found"});
  auto user = users_.find_by_handle(req.param("handle"));
  if (!user) return error_response({404, "not-found", "User not found"});
  return json_response(200, public_user_json(*user, options_.domain));
}

Response UsersApi::list_users(Request& req) {
  auto body = req.json_object();
  if (!body) return error_response(body.error());
  json found = json::array(), failed = json::array();
  auto ids = body->find("qualified_ids");
  auto handles = body->find("qualified_handles");
  if (ids != body->end()) {
    if (!ids->is_array() || ids->size() > 500)
      return error_response(ApiError::bad_request("qualified_ids must be an array of at most 500 ids"));
    std::vector<std::string> local;
    for (const auto& q : *ids) {
      if (!q.is_object()) return error_response(ApiError::bad_request("qualified_ids entries must be objects"));
      auto id = json_fields::req_string(q, "id", 36, 36);
      auto domain = json_fields::req_string(q, "domain", 1, 255);
      if (!id || !domain || !is_uuid(*id))
        return error_response(ApiError::bad_request("qualified_ids entries need a UUID id and a domain"));
      if (*domain == options_.domain) local.push_back(*normalize_uuid(*id));
      else failed.push_back({{"id", *id}, {"domain", *domain}});  // not the caller's whole entry
    }
    for (const auto& u : users_.find_many(local)) found.push_back(public_user_json(u, options_.domain));
  } else if (handles != body->end()) {
    if (!handles->is_array() || handles->size() > 500)
      return error_response(ApiError::bad_request("qualified_handles must be an array of at most 500 handles"));
    for (const auto& q : *handles) {
      if (!q.is_object()) return error_response(ApiError::bad_request("qualified_handles entries must be objects"));
      auto h = json_fields::req_string(q, "handle", 1, 256);
      auto domain = json_fields::req_string(q, "domain", 1, 255);
      if (!h || !domain) return error_response(ApiError::bad_request("qualified_handles entries need handle and domain"));
      if (*domain != options_.domain) {
        failed.push_back(q);
        continue;
      }
      if (auto u = users_.find_by_handle(*h)) found.push_back(public_user_json(*u, options_.domain));
    }
  } else {
    return error_response(ApiError::bad_request("qualified_ids or qualified_handles is required"));
  }
  json out = {{"found", found}};
  if (!failed.empty()) out["failed"] = failed;
  return json_response(200, out);
}

Response UsersApi::search_contacts(Request& req) {
  auto start = std::chrono::steady_clock::now();
  std::string q = req.query_param("q").value_or("");
  if (q.size() > 256) return error_response(ApiError::bad_request("q is too long"));
  int64_t size = 15;
  if (auto s = req.query_param("size")) {
    try {
      size = std::stoll(*s);
    } catch (...) {
      size = -1;
    }
    if (size < 1 || size > 500) return error_response(ApiError::bad_request("size must be between 1 and 500"));
  }
  json docs = json::array();
  auto me = users_.find(req.identity.user_id);
  std::string my_team = me ? me->team_id : "";
  for (const auto& u : users_.search(q, static_cast<size_t>(size), req.identity.user_id, my_team)) {
    json d = {{"id", u.id}, {"qualified_id", qualified(u.id, options_.domain)}, {"name", u.name},
              {"accent_id", u.accent_id}, {"type", "user"}};
    if (!u.handle.empty()) d["handle"] = u.handle;
    if (!u.team_id.empty()) d["team"] = u.team_id;
    docs.push_back(d);
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  return json_response(200, {{"documents", docs}, {"found", docs.size()}, {"returned", docs.size()}, {"took", took},
                             {"search_policy", "full_search"}});
}

Response UsersApi::put_property(Request& req) {
  const std::string& key = req.param("key");
  if (key.empty() || key.size() > 256) return error_response({400, "property-key-too-large", "Property key too large"});
  if (req.body.size() > options_.max_property_value_bytes)
    return error_response({400, "property-value-too-large", "Property value too large"});
  auto value = json_fields::parse_untrusted(req.body);
  if (value.is_discarded()) return error_response(ApiError::bad_request("Property value must be JSON"));
  auto s = users_.set_property(req.identity.user_id, key, value.dump(), options_.max_properties);
  return s ? empty_response(200) : error_response(s.error());
}

}  // namespace wirebox::users
