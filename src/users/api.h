// HTTP routes of the users module: registration and login (which open auth sessions), the
// self profile, handles, user lookup, contact search and user properties.
#pragma once

#include <string>

#include "auth/rate_limiter.h"
#include "auth/session_service.h"
#include "http/router.h"
#include "notifications/event_publisher.h"
#include "teams/team_store.h"
#include "users/user_store.h"

namespace wirebox::users {

struct UsersOptions {
  std::string domain;
  bool registration_open = true;
  int password_log2_n = 15;
  int login_attempts_per_minute = 10;
  int registrations_per_minute = 30;  // per client address (IPv6: per /64)
  size_t max_properties = 16;
  size_t max_property_value_bytes = 512 * 1024;
  int64_t invitation_ttl_ms = int64_t{14} * 24 * 3600 * 1000;  // teams.invitation_ttl_seconds
};

// {id, qualified_id, name, handle?, accent_id, assets, ...} as other users see it.
nlohmann::json public_user_json(const User& user, const std::string& domain);
// The public view plus email, locale, managed_by — GET /self.
nlohmann::json self_json(const User& user, const std::string& domain);

// Wire's handle rules: 2–256 chars of a-z 0-9 _ . -
bool is_valid_handle(const std::string& handle);
// Handles nobody may take (admin, support, wire, ...): they count as taken.
bool is_reserved_handle(const std::string& handle);

class UsersApi {
 public:
  // events receives team.member-join when someone registers with a team invitation code.
  UsersApi(UsersOptions options, UserStore& users, teams::TeamStore& teams, auth::SessionService& sessions,
           notifications::EventPublisher& events);
  void register_routes(http::Router& router);

 private:
  http::Response register_user(http::Request& req);
  http::Response login(http::Request& req);
  http::Response get_self(http::Request& req);
  http::Response put_self(http::Request& req);
  http::Response put_handle(http::Request& req);
  http::Response head_handle(http::Request& req);
  http::Response post_handles(http::Request& req);
  http::Response get_user(http::Request& req);
  http::Response get_user_by_handle(http::Request& req);
  http::Response list_users(http::Request& req);
  http::Response search_contacts(http::Request& req);
  http::Response put_property(http::Request& req);

  UsersOptions options_;
  UserStore& users_;
  teams::TeamStore& teams_;
  auth::SessionService& sessions_;
  notifications::EventPublisher& events_;
  auth::RateLimiter per_address_;
  auth::RateLimiter registrations_per_address_;
  auth::RateLimiter per_account_;
  std::string dummy_hash_;  // verified against when the account doesn't exist (no timing oracle)
};

}  // namespace wirebox::users
