// HTTP routes of the clients module: the caller's own devices (POST/GET/PUT/DELETE
// /clients...), other users' device lists, and prekey bundles (each fetch claims one prekey).
// Adding and removing a device queues user.client-add / user.client-remove for the user's
// clients.
#pragma once

#include <functional>
#include <string>

#include "auth/rate_limiter.h"
#include "auth/session_service.h"
#include "clients/client_store.h"
#include "http/router.h"
#include "notifications/event_publisher.h"
#include "users/user_store.h"

namespace wirebox::clients {

struct ClientsOptions {
  std::string domain;
  int max_permanent = 7;
  int password_attempts_per_minute = 10;  // wrong re-authentication passwords per user
};

nlohmann::json self_client_json(const Client& c);   // the owner's view
nlohmann::json public_client_json(const Client& c);  // {id, class}

class ClientsApi {
 public:
  ClientsApi(ClientsOptions options, ClientStore& clients, users::UserStore& users, auth::SessionService& sessions,
             notifications::EventPublisher& events);
  void register_routes(http::Router& router);
  // Called (on the request's thread, after its user.client-remove event is stored) for every
  // client deleted or replaced: the daemon closes the client's WebSockets with it.
  using ClientRemoved = std::function<void(const std::string& user_id, const std::string& client_id)>;
  void on_client_removed(ClientRemoved callback) { on_removed_ = std::move(callback); }

 private:
  http::Response add_client(http::Request& req);
  http::Response update_client(http::Request& req);
  http::Response delete_client(http::Request& req);
  http::Response user_prekeys(http::Request& req);
  http::Response list_prekeys(http::Request& req);
  http::Response list_clients(http::Request& req);
  // Checks the password in body["password"] for the caller: 403 missing-auth if absent.
  Status reauthenticate(const http::Request& req, const nlohmann::json& body);

  ClientsOptions options_;
  ClientStore& clients_;
  users::UserStore& users_;
  auth::SessionService& sessions_;  // a deleted client's cookies are revoked
  notifications::EventPublisher& events_;
  auth::RateLimiter wrong_passwords_;  // per user: the password checks are as guessable as a login
  ClientRemoved on_removed_;
};

}  // namespace wirebox::clients
