// SessionService: the auth flows on top of TokenSigner and CookieStore — opening a session at
// login/registration (cookie + access token), refreshing at POST /access (cookie → token,
// client binding, rotation), logout, and bearer-token verification for every other route.
// Thread-safe; blocking (touches the cookie store): call from the worker pool.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "auth/cookie_store.h"
#include "auth/token_signer.h"
#include "http/request.h"

namespace wirebox::auth {

struct SessionOptions {
  int access_token_ttl_seconds = 900;
  int64_t persistent_cookie_ttl_seconds = 4838400;
  int64_t session_cookie_ttl_seconds = 86400;
  int64_t cookie_renew_age_seconds = 1209600;
};

struct Session {
  std::string set_cookie;   // full Set-Cookie header value for the new zuid cookie
  nlohmann::json access;    // {access_token, expires_in, token_type, user}
};

class SessionService {
 public:
  // client_exists(user, client) lets /access?client_id= refuse ids the user doesn't own.
  using ClientCheck = std::function<bool(const std::string& user_id, const std::string& client_id)>;

  SessionService(SessionOptions options, std::shared_ptr<TokenSigner> signer, std::unique_ptr<CookieStore> cookies);

  void set_client_check(ClientCheck check) { client_check_ = std::move(check); }

  Result<Session> open(const std::string& user_id, bool persistent, const std::string& label);

  struct Refreshed {
    nlohmann::json access;
    std::optional<std::string> set_cookie;  // present when the cookie was rotated
  };
  // 403 invalid-credentials on a missing/unknown/expired cookie (never 401: the client loops).
  Result<Refreshed> refresh(std::string_view cookie_value, const std::optional<std::string>& client_id);
  Status logout(std::string_view cookie_value);
  // Every cookie of the user stops working, and so do the access tokens already issued (a
  // password reset must end open sessions, not leave them up to a token lifetime). Those are
  // remembered in memory for one token lifetime: a restart within it forgets them.
  Status logout_everywhere(const std::string& user_id);
  // A client was deleted: the cookies it was bound to or labelled with stop working (as
  // wire-server revokes a deleted client's cookie label), so a lost device is locked out.
  Status logout_client(const std::string& user_id, const std::string& client_id, const std::string& cookie_label);

  // 401 also for a blocked user's otherwise valid token.
  Result<http::Identity> verify(std::string_view access_token) const;

  // Blocked (suspended or deleted) accounts: their access tokens are refused from now on and
  // their cookies no longer refresh. Tokens are verified without the database, so the set
  // lives here; the daemon fills it from the user store at start.
  void set_blocked(const std::string& user_id, bool blocked);
  bool is_blocked(const std::string& user_id) const;

  // zuid value from a Cookie header, empty if absent.
  static std::string cookie_from_header(std::string_view cookie_header);

 private:
  static std::string new_cookie(std::string& hash_out);
  std::string set_cookie_header(const std::string& value, const CookieRecord& record) const;
  nlohmann::json access_json(const std::string& user_id, const std::string& client_id) const;

  SessionOptions options_;
  std::shared_ptr<TokenSigner> signer_;
  std::unique_ptr<CookieStore> cookies_;
  ClientCheck client_check_;
  mutable std::shared_mutex blocked_mu_;
  std::unordered_set<std::string> blocked_;
  // Under blocked_mu_: user → Unix second before which their tokens were issued and are void.
  std::unordered_map<std::string, int64_t> revoked_before_;
};

}  // namespace wirebox::auth
