// AdminService: what the admin socket's commands do, on top of the modules' stores (it holds
// no SQL). Commands and their args (USER = a user id, an email, or a handle with or without @):
//   status                         version, uptime, counts, online sockets, storage use, TURN
//   user.create {name, email, password?, handle?, team?, role?}   password generated if absent
//   user.list {offset?, limit?}    oldest first
//   user.show {user}               profile, status, clients, team
//   user.delete {user}             Wire-style deletion (see UserStore::mark_deleted); clients,
//                                  cookies and team membership go, tokens stop working
//   user.suspend {user} / user.unsuspend {user}   suspended: no login, tokens and cookies refused,
//                                  open WebSockets closed
//   user.reset-password {user, password?}   generated if absent; every session is logged out
//   team.create {name, owner}      owner: a USER without a team
//   team.list
//   team.add-member {team, user, role?}     role: owner | admin | member (default) | partner
//   team.remove-member {team, user}         refused if it would leave the team without an owner
//   config.show                    the effective configuration, every key
//   backup.create                  streams a backup archive (see backup.h, admin_server.h)
//   daemon.stop                    asks the daemon to stop (for `backup restore --stop-daemon`)
// Team membership changes do not emit team events to clients yet (clients see them on their
// next fetch).
//
// Thread safety: handle() is called on the worker pool, concurrently; it is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "admin/admin_server.h"
#include "core/config.h"

namespace wirebox::auth {
class SessionService;
}
namespace wirebox::calling {
class CallingService;
}
namespace wirebox::clients {
class ClientStore;
}
namespace wirebox::notifications {
class LmdbNotificationStore;
}
namespace wirebox::storage {
class Database;
}
namespace wirebox::teams {
class TeamStore;
}
namespace wirebox::users {
class UserStore;
struct User;
}
namespace wirebox::websocket {
class Hub;
}

namespace wirebox::admin {

struct AdminDeps {
  const Config& config;
  storage::Database& db;
  users::UserStore& users;
  teams::TeamStore& teams;
  clients::ClientStore& clients;
  auth::SessionService& sessions;
  notifications::LmdbNotificationStore& events;
  websocket::Hub& hub;
  const calling::CallingService* calling;  // null when TURN is off
  std::function<void()> stop_daemon;       // empty: daemon.stop is refused
};

class AdminService {
 public:
  explicit AdminService(AdminDeps deps);

  AdminReply handle(const std::string& command, const nlohmann::json& args);

  // Marks suspended and deleted accounts as blocked in the session service (at start).
  void load_blocked_users();

 private:
  Result<nlohmann::json> status();
  Result<nlohmann::json> user_create(const nlohmann::json& args);
  Result<nlohmann::json> user_list(const nlohmann::json& args);
  Result<nlohmann::json> user_show(const nlohmann::json& args);
  Result<nlohmann::json> user_delete(const nlohmann::json& args);
  Result<nlohmann::json> user_set_suspended(const nlohmann::json& args, bool suspended);
  Result<nlohmann::json> user_reset_password(const nlohmann::json& args);
  Result<nlohmann::json> team_create(const nlohmann::json& args);
  Result<nlohmann::json> team_list();
  Result<nlohmann::json> team_add_member(const nlohmann::json& args);
  Result<nlohmann::json> team_remove_member(const nlohmann::json& args);
  Result<nlohmann::json> config_show();
  AdminReply backup_create();
  AdminReply daemon_stop();

  Result<users::User> resolve_user(const nlohmann::json& args, const char* field);
  // Refuses (403 no-other-owner) when user_id is the team's only owner.
  Status check_not_last_owner(const std::string& team_id, const std::string& user_id);

  AdminDeps d_;
  int64_t started_ms_;
  std::atomic<bool> backup_running_{false};
};

}  // namespace wirebox::admin
