#include "auth/session_service.h"

#include <algorithm>

#include "core/encoding.h"
#include "core/time.h"

namespace wirebox::auth {
namespace {

std::string cookie_hash(std::string_view value) { return hex_encode(sha256(value)); }

const ApiError kMissingCookie{403, "invalid-credentials", "Missing cookie"};
const ApiError kInvalidCookie{403, "invalid-credentials", "Invalid zauth token"};

}  // namespace

SessionService::SessionService(SessionOptions options, std::shared_ptr<TokenSigner> signer,
                               std::unique_ptr<CookieStore> cookies)
    : options_(options), signer_(std::move(signer)), cookies_(std::move(cookies)) {}

std::string SessionService::cookie_from_header(std::string_view header) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.substr(0, 5) == "zuid=") return std::string(part.substr(5));
  }
  return {};
}

std::string SessionService::new_cookie(std::string& hash_out) {
  std::string value = base64url_encode(random_bytes(32));
  hash_out = cookie_hash(value);
  return value;
}

std::string SessionService::set_cookie_header(const std::string& value, const CookieRecord& r) const {
  // As wire-server: Expires only on persistent cookies; no SameSite, no Domain.
  std::string h = "zuid=" + value + "; Path=/access";
  if (r.persistent) h += "; Expires=" + http_date(r.expires_at);
  h += "; HttpOnly; Secure";
  return h;
}

nlohmann::json SessionService::access_json(const std::string& user_id, const std::string& client_id) const {
  // A token counts as issued at its expiry minus the lifetime (tokens carry no issue time). One
  // issued in the second its user's tokens were revoked counts from the next one, so that it
  // outlives the revocation (see logout_everywhere).
  int64_t issued = now_seconds();
  {
    std::shared_lock<std::shared_mutex> lock(blocked_mu_);
    auto revoked = revoked_before_.find(user_id);
    if (revoked != revoked_before_.end()) issued = std::max(issued, revoked->second);
  }
  AccessClaims claims{user_id, client_id, issued + options_.access_token_ttl_seconds};
  return {{"access_token", signer_->sign(claims)},
          {"expires_in", options_.access_token_ttl_seconds},
          {"token_type", "Bearer"},
          {"user", user_id}};
}

Result<Session> SessionService::open(const std::string& user_id, bool persistent, const std::string& label) {
  int64_t now = now_seconds();
  CookieRecord r{user_id, now,
                 now + (persistent ? options_.persistent_cookie_ttl_seconds : options_.session_cookie_ttl_seconds),
                 persistent, label, "", ""};
  std::string hash;
  std::string value = new_cookie(hash);
  if (auto s = cookies_->insert(hash, r); !s) return s.error();
  return Session{set_cookie_header(value, r), access_json(user_id, "")};
}

Result<SessionService::Refreshed> SessionService::refresh(std::string_view cookie_value,
                                                          const std::optional<std::string>& client_id) {
  if (cookie_value.empty()) return kMissingCookie;
  std::string hash = cookie_hash(cookie_value);
  auto rec = cookies_->find(hash);
  int64_t now = now_seconds();
  if (!rec || rec->expires_at <= now || is_blocked(rec->user_id)) return kInvalidCookie;
  if (client_id && *client_id != rec->client_id) {
    if (!client_check_ || !client_check_(rec->user_id, *client_id))
      return ApiError{403, "invalid-credentials", "Unknown client"};
    // A cookie stays with the device it was bound to while that device exists: moved to another
    // of the user's clients (their ids are public), a stolen cookie would outlive the deletion
    // of the stolen device, which revokes only the cookies bound to it.
    if (!rec->client_id.empty() && client_check_(rec->user_id, rec->client_id))
      return ApiError{403, "invalid-credentials", "Cookie belongs to another client"};
    if (auto s = cookies_->bind_client(hash, *client_id); !s) return s.error();
    rec->client_id = *client_id;
  }
  Refreshed out{access_json(rec->user_id, rec->client_id), std::nullopt};
  // Rotate once: an already superseded cookie keeps working (the Node client ignores Set-Cookie
  // on /access) but is not rotated again, which would orphan its successor from the logout chain.
  if (rec->successor.empty() && now - rec->created_at >= options_.cookie_renew_age_seconds) {
    CookieRecord next = *rec;
    next.successor.clear();
    next.created_at = now;
    next.expires_at = now + (rec->persistent ? options_.persistent_cookie_ttl_seconds
                                             : options_.session_cookie_ttl_seconds);
    std::string next_hash;
    std::string value = new_cookie(next_hash);
    if (auto s = cookies_->rotate(hash, next_hash, next); !s) return s.error();
    out.set_cookie = set_cookie_header(value, next);
  }
  return out;
}

Status SessionService::logout(std::string_view cookie_value) {
  if (cookie_value.empty()) return kMissingCookie;
  std::string hash = cookie_hash(cookie_value);
  if (!cookies_->find(hash)) return kInvalidCookie;
  return cookies_->remove(hash);
}

Status SessionService::logout_everywhere(const std::string& user_id) {
  int64_t now = now_seconds();
  {
    std::unique_lock<std::shared_mutex> lock(blocked_mu_);
    // Entries older than a token lifetime void nothing any more.
    std::erase_if(revoked_before_,
                  [&](const auto& e) { return e.second + options_.access_token_ttl_seconds < now; });
    // Tokens carry whole seconds: every token issued up to and including this second is void;
    // access_json() dates later ones from the next second.
    revoked_before_[user_id] = now + 1;
  }
  return cookies_->remove_user(user_id);
}

Status SessionService::logout_client(const std::string& user_id, const std::string& client_id,
                                     const std::string& cookie_label) {
  return cookies_->remove_client(user_id, client_id, cookie_label);
}

Result<http::Identity> SessionService::verify(std::string_view access_token) const {
  auto claims = signer_->verify(access_token, now_seconds());
  if (!claims) return claims.error();
  if (is_blocked(claims->user_id)) return ApiError::unauthorized("Account suspended or deleted");
  {
    std::shared_lock<std::shared_mutex> lock(blocked_mu_);
    auto revoked = revoked_before_.find(claims->user_id);
    if (revoked != revoked_before_.end() &&
        claims->expires_at - options_.access_token_ttl_seconds < revoked->second)
      return ApiError::unauthorized("Access token revoked");
  }
  return http::Identity{claims->user_id, claims->client_id, claims->expires_at};
}

void SessionService::set_blocked(const std::string& user_id, bool blocked) {
  std::unique_lock<std::shared_mutex> lock(blocked_mu_);
  if (blocked) blocked_.insert(user_id);
  else blocked_.erase(user_id);
}

bool SessionService::is_blocked(const std::string& user_id) const {
  std::shared_lock<std::shared_mutex> lock(blocked_mu_);
  return !blocked_.empty() && blocked_.count(user_id) > 0;
}

}  // namespace wirebox::auth
