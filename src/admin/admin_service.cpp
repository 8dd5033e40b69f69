#include "admin/admin_service.h"

#include <filesystem>

#include "admin/backup.h"
#include "auth/password.h"
#include "auth/session_service.h"
#include "calling/config/calling_service.h"
#include "clients/client_store.h"
#include "core/email.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/json_fields.h"
#include "core/log.h"
#include "core/time.h"
#include "deeplink/deeplink.h"
#include "notifications/notification_store.h"
#include "storage/sqlite.h"
#include "teams/team_store.h"
#include "users/api.h"
#include "users/user_store.h"
#include "websocket/hub.h"

#ifndef WIREBOX_VERSION
#error "WIREBOX_VERSION must be defined by the build"
#endif

namespace wirebox::admin {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json user_json(const users::User& u) {
  json j = {{"id", u.id},         {"name", u.name},     {"email", u.email},
            {"handle", u.handle}, {"status", u.status}, {"team", u.team_id},
            {"created_at", iso8601_ms(u.created_at_ms)}};
  return j;
}

json team_json(const teams::Team& t) {
  return {{"id", t.id}, {"name", t.name}, {"creator", t.creator}, {"created_at", iso8601_ms(t.created_at_ms)}};
}

std::string generated_password() { return base64url_encode(random_bytes(18)); }

Result<int64_t> role_permissions(const std::string& role) {
  if (role == "owner") return teams::kOwnerPermissions;
  if (role == "admin") return teams::kAdminPermissions;
  if (role == "member") return teams::kMemberPermissions;
  if (role == "partner") return teams::kPartnerPermissions;
  return ApiError::bad_request("role must be owner, admin, member or partner");
}

std::string role_name(int64_t permissions) {
  if (permissions == teams::kOwnerPermissions) return "owner";
  if (permissions == teams::kAdminPermissions) return "admin";
  if (permissions == teams::kMemberPermissions) return "member";
  if (permissions == teams::kPartnerPermissions) return "partner";
  return "custom";
}

// Bytes under path (a file or a directory tree); missing = 0.
int64_t disk_bytes(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return static_cast<int64_t>(fs::file_size(path, ec));
  int64_t total = 0;
  if (!fs::is_directory(path, ec)) return 0;
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      auto n = it->file_size(size_ec);
      if (!size_ec) total += static_cast<int64_t>(n);
    }
  }
  return total;
}

Status validate_password(const std::string& password) {
  if (password.size() < 8 || password.size() > 1024)
    return ApiError::bad_request("password must be 8 to 1024 characters");
  return {};
}

}  // namespace

AdminService::AdminService(AdminDeps deps) : d_(std::move(deps)), started_ms_(now_ms()) {}

void AdminService::load_blocked_users() {
  for (const char* status : {"suspended", "deleted"})
    for (const auto& id : d_.users.ids_with_status(status)) d_.sessions.set_blocked(id, true);
}

AdminReply AdminService::handle(const std::string& command, const json& args) {
  if (command == "backup.create") return backup_create();
  if (command == "daemon.stop") return daemon_stop();
  Result<json> r = ApiError{404, "unknown-command", "unknown admin command '" + command + "'"};
  if (command == "status") r = status();
  else if (command == "user.create") r = user_create(args);
  else if (command == "user.list") r = user_list(args);
  else if (command == "user.show") r = user_show(args);
  else if (command == "user.delete") r = user_delete(args);
  else if (command == "user.suspend") r = user_set_suspended(args, true);
  else if (command == "user.unsuspend") r = user_set_suspended(args, false);
  else if (command == "user.reset-password") r = user_reset_password(args);
  else if (command == "team.create") r = team_create(args);
  else if (command == "team.list") r = team_list();
  else if (command == "team.add-member") r = team_add_member(args);
  else if (command == "team.remove-member") r = team_remove_member(args);
  else if (command == "config.show") r = config_show();
  if (!r) return {error_line(r.error()), "", nullptr};
  if (command != "status" && command != "user.list" && command != "user.show" && command != "team.list" &&
      command != "config.show")
    log::info("admin", "command=" + command + " done");
  return {ok_line(std::move(r.value())), "", nullptr};
}

Result<users::User> AdminService::resolve_user(const json& args, const char* field) {
  auto ref = json_fields::req_string(args, field, 1, 256);
  if (!ref) return ref.error();
  std::string s = *ref;
  std::optional<users::User> u;
  if (auto id = normalize_uuid(s)) u = d_.users.find(*id);
  else if (s.find('@') != std::string::npos && s.front() != '@') u = d_.users.find_by_email(s);
  else u = d_.users.find_by_handle(s.front() == '@' ? s.substr(1) : s);
  if (!u) return ApiError{404, "not-found", "no user '" + s + "'"};
  return *u;
}

Status AdminService::check_not_last_owner(const std::string& team_id, const std::string& user_id) {
  auto me = d_.teams.member(team_id, user_id);
  if (!me || me->permissions != teams::kOwnerPermissions) return {};
  for (const auto& m : d_.teams.members(team_id))
    if (m.user_id != user_id && m.permissions == teams::kOwnerPermissions) return {};
  return ApiError{403, "no-other-owner", "user " + user_id + " is the only owner of team " + team_id};
}

Result<json> AdminService::status() {
  const fs::path dir = d_.config.data_dir;
  int64_t db_bytes = disk_bytes(dir / "wirebox.db") + disk_bytes(dir / "wirebox.db-wal") +
                     disk_bytes(dir / "wirebox.db-shm");
  int64_t event_bytes = disk_bytes(dir / "events");
  int64_t asset_bytes = disk_bytes(dir / "assets");
  std::string base = public_url(d_.config);
  deeplink::DeeplinkOptions link{base, d_.config.title.empty() ? d_.config.domain : d_.config.title};
  json turn = {{"enabled", d_.calling != nullptr}};
  if (d_.calling) {
    auto totals = d_.calling->relay_totals();
    turn["allocations_active"] = totals.allocations_active;
    turn["allocations_created"] = totals.allocations_created;
  }
  return json{{"version", WIREBOX_VERSION},
              {"domain", d_.config.domain},
              {"data_dir", d_.config.data_dir},
              {"uptime_seconds", (now_ms() - started_ms_) / 1000},
              {"users", {{"total", d_.users.count()},
                         {"suspended", d_.users.ids_with_status("suspended").size()},
                         {"deleted", d_.users.ids_with_status("deleted").size()}}},
              {"clients", d_.clients.count()},
              {"online_sockets", d_.hub.open_sockets()},
              {"storage_bytes", {{"database", db_bytes}, {"events", event_bytes}, {"assets", asset_bytes},
                                 {"total", disk_bytes(dir)}}},
              {"turn", turn},
              {"deeplink", {{"page", base + "/deeplink.html"}, {"config", base + "/deeplink.json"},
                            {"access_link", deeplink::access_link(link)}}}};
}

Result<json> AdminService::user_create(const json& args) {
  auto name = json_fields::req_string(args, "name", 1, 128);
  if (!name) return name.error();
  auto email = json_fields::req_string(args, "email", 3, 254);
  if (!email) return email.error();
  if (!is_valid_email(*email)) return ApiError{400, "invalid-email", "invalid email address '" + *email + "'"};
  auto password = json_fields::opt_string(args, "password", 0, 1024);
  if (!password) return password.error();
  auto handle = json_fields::opt_string(args, "handle", 0, 256);
  if (!handle) return handle.error();
  if (handle.value() && !users::is_valid_handle(*handle.value()))
    return ApiError{400, "invalid-handle", "invalid handle (2-256 of a-z 0-9 _ . -)"};
  auto team_id = json_fields::opt_string(args, "team", 0, 64);
  if (!team_id) return team_id.error();
  auto role = json_fields::opt_string(args, "role", 0, 16);
  if (!role) return role.error();
  auto permissions = role_permissions(role.value().value_or("member"));
  if (!permissions) return permissions.error();
  std::optional<teams::Team> team;
  if (team_id.value()) {
    auto tid = normalize_uuid(*team_id.value());
    if (tid) team = d_.teams.find(*tid);
    if (!team) return ApiError{404, "no-team", "no team '" + *team_id.value() + "'"};
  }
  bool generated = !password.value();
  std::string pw = generated ? generated_password() : *password.value();
  if (auto s = validate_password(pw); !s) return s.error();

  users::NewUser n;
  n.name = *name;
  n.email = *email;
  n.password_hash = auth::hash_password(pw, d_.config.password_scrypt_log2_n);
  auto user = d_.users.create(n);
  if (!user) return user.error();
  // All or nothing, as registration: undo the account if a later step fails.
  auto undo = [&](const ApiError& e) -> ApiError {
    d_.users.remove(user->id);
    return e;
  };
  if (handle.value()) {
    if (auto s = d_.users.set_handle(user->id, *handle.value()); !s) return undo(s.error());
    user->handle = *handle.value();
  }
  if (team) {
    if (auto s = d_.teams.add_member(team->id, {user->id, *permissions, "", now_ms()}); !s) return undo(s.error());
    if (auto s = d_.users.set_team(user->id, team->id); !s) {
      d_.teams.remove_member(team->id, user->id);
      return undo(s.error());
    }
    user->team_id = team->id;
  }
  json out = user_json(*user);
  if (generated) out["password"] = pw;
  return out;
}

Result<json> AdminService::user_list(const json& args) {
  auto offset = json_fields::opt_int(args, "offset", 0, int64_t{1} << 40);
  if (!offset) return offset.error();
  auto limit = json_fields::opt_int(args, "limit", 1, 100000);
  if (!limit) return limit.error();
  json users = json::array();
  for (const auto& u : d_.users.list(static_cast<size_t>(offset.value().value_or(0)),
                                     static_cast<size_t>(limit.value().value_or(1000))))
    users.push_back(user_json(u));
  return json{{"total", d_.users.count()}, {"users", users}};
}

Result<json> AdminService::user_show(const json& args) {
  auto user = resolve_user(args, "user");
  if (!user) return user.error();
  json out = user_json(*user);
  json clients = json::array();
  for (const auto& c : d_.clients.list(user->id))
    clients.push_back({{"id", c.id}, {"type", c.type}, {"class", c.cls}, {"label", c.label}, {"model", c.model},
                       {"created_at", iso8601_ms(c.created_at_ms)}, {"last_active", iso8601_ms(c.last_active_ms)}});
  out["clients"] = clients;
  if (!user->team_id.empty()) {
    if (auto m = d_.teams.member(user->team_id, user->id)) out["team_role"] = role_name(m->permissions);
  }
  return out;
}

Result<json> AdminService::user_delete(const json& args) {
  auto user = resolve_user(args, "user");
  if (!user) return user.error();
  if (user->status == "deleted") return ApiError{409, "already-deleted", "user " + user->id + " is already deleted"};
  if (!user->team_id.empty())
    if (auto s = check_not_last_owner(user->team_id, user->id); !s) return s.error();
  // Block first: from here on no token of the user works, whatever step follows.
  d_.sessions.set_blocked(user->id, true);
  if (auto s = d_.users.mark_deleted(user->id); !s) return s.error();
  if (auto s = d_.sessions.logout_everywhere(user->id); !s) return s.error();
  for (const auto& c : d_.clients.list(user->id))
    if (auto s = d_.clients.remove(user->id, c.id); !s) return s.error();
  if (!user->team_id.empty()) {
    if (auto s = d_.teams.remove_member(user->team_id, user->id); !s) return s.error();
    if (auto s = d_.users.set_team(user->id, ""); !s) return s.error();
  }
  d_.hub.disconnect_user(user->id);
  return json{{"id", user->id}, {"status", "deleted"}};
}

Result<json> AdminService::user_set_suspended(const json& args, bool suspended) {
  auto user = resolve_user(args, "user");
  if (!user) return user.error();
  if (user->status == "deleted") return ApiError{409, "deleted", "user " + user->id + " is deleted"};
  if (suspended) {
    d_.sessions.set_blocked(user->id, true);
    if (auto s = d_.users.set_status(user->id, "suspended"); !s) return s.error();
    if (auto s = d_.sessions.logout_everywhere(user->id); !s) return s.error();
    d_.hub.disconnect_user(user->id);
  } else {
    if (auto s = d_.users.set_status(user->id, "active"); !s) return s.error();
    d_.sessions.set_blocked(user->id, false);
  }
  return json{{"id", user->id}, {"status", suspended ? "suspended" : "active"}};
}

Result<json> AdminService::user_reset_password(const json& args) {
  auto user = resolve_user(args, "user");
  if (!user) return user.error();
  if (user->status == "deleted") return ApiError{409, "deleted", "user " + user->id + " is deleted"};
  auto password = json_fields::opt_string(args, "password", 0, 1024);
  if (!password) return password.error();
  bool generated = !password.value();
  std::string pw = generated ? generated_password() : *password.value();
  if (auto s = validate_password(pw); !s) return s.error();
  if (auto s = d_.users.set_password_hash(user->id, auth::hash_password(pw, d_.config.password_scrypt_log2_n)); !s)
    return s.error();
  if (auto s = d_.sessions.logout_everywhere(user->id); !s) return s.error();
  d_.hub.disconnect_user(user->id);  // their sockets too: the tokens they opened with are void
  json out = {{"id", user->id}};
  if (generated) out["password"] = pw;
  return out;
}

Result<json> AdminService::team_create(const json& args) {
  auto name = json_fields::req_string(args, "name", 1, 256);
  if (!name) return name.error();
  auto owner = resolve_user(args, "owner");
  if (!owner) return owner.error();
  if (owner->status != "active") return ApiError{409, "not-active", "user " + owner->id + " is " + owner->status};
  if (!owner->team_id.empty())
    return ApiError{409, "already-in-team", "user " + owner->id + " is already in team " + owner->team_id};
  auto team = d_.teams.create(owner->id, *name, "default", "");
  if (!team) return team.error();
  if (auto s = d_.users.set_team(owner->id, team->id); !s) {
    d_.teams.remove(team->id);
    return s.error();
  }
  json out = team_json(*team);
  out["members"] = 1;
  return out;
}

Result<json> AdminService::team_list() {
  json teams = json::array();
  for (const auto& [team, members] : d_.teams.list()) {
    json t = team_json(team);
    t["members"] = members;
    teams.push_back(t);
  }
  return json{{"teams", teams}};
}

Result<json> AdminService::team_add_member(const json& args) {
  auto tid = json_fields::req_string(args, "team", 1, 64);
  if (!tid) return tid.error();
  std::optional<teams::Team> team;
  if (auto id = normalize_uuid(*tid)) team = d_.teams.find(*id);
  if (!team) return ApiError{404, "no-team", "no team '" + *tid + "'"};
  auto user = resolve_user(args, "user");
  if (!user) return user.error();
  if (user->status == "deleted") return ApiError{409, "deleted", "user " + user->id + " is deleted"};
  if (!user->team_id.empty())
    return ApiError{409, "already-in-team", "user " + user->id + " is already in team " + user->team_id};
  auto role = json_fields::opt_string(args, "role", 0, 16);
  if (!role) return role.error();
  auto permissions = role_permissions(role.value().value_or("member"));
  if (!permissions) return permissions.error();
  if (auto s = d_.teams.add_member(team->id, {user->id, *permissions, "", now_ms()}); !s) return s.error();
  if (auto s = d_.users.set_team(user->id, team->id); !s) {
    d_.teams.remove_member(team->id, user->id);
    return s.error();
  }
  return json{{"team", team->id}, {"user", user->id}, {"role", role_name(*permissions)}};
}

Result<json> AdminService::team_remove_member(const json& args) {
  auto tid = json_fields::req_string(args, "team", 1, 64);
  if (!tid) return tid.error();
  auto id = normalize_uuid(*tid);
  if (!id || !d_.teams.find(*id)) return ApiError{404, "no-team", "no team '" + *tid + "'"};
  auto user = resolve_user(args, "user");
  if (!user) return user.error();
  if (!d_.teams.member(*id, user->id))
    return ApiError{404, "no-team-member", "user " + user->id + " is not in team " + *id};
  if (auto s = check_not_last_owner(*id, user->id); !s) return s.error();
  if (auto s = d_.teams.remove_member(*id, user->id); !s) return s.error();
  if (auto s = d_.users.set_team(user->id, ""); !s) return s.error();
  return json{{"team", *id}, {"user", user->id}, {"removed", true}};
}

Result<json> AdminService::config_show() {
  json values = json::object();
  for (const auto& [k, v] : config_values(d_.config)) values[k] = v;
  return json{{"values", values}, {"admin_socket", admin_socket_path(d_.config)}};
}

AdminReply AdminService::backup_create() {
  if (backup_running_.exchange(true))
    return {error_line({409, "backup-in-progress", "another backup is being taken"}), "", nullptr};
  // Held until the archive has been sent or its client went away (after_sent), not only while
  // it is built: each archive waiting to be read is a full copy of the data on the data
  // directory's own disk.
  struct Release {
    std::atomic<bool>& flag;
    bool handed_over = false;
    ~Release() {
      if (!handed_over) flag = false;
    }
  } release{backup_running_};
  // One staging directory per backup, removed once the archive has been sent (and at start, in
  // case a daemon stopped in between).
  std::string staging = d_.config.data_dir + "/backup-staging/" + hex_encode(random_bytes(8));
  auto fail = [&](const ApiError& e) -> AdminReply {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    return {error_line(e), "", nullptr};
  };
  BackupSources sources;
  sources.data_dir = d_.config.data_dir;
  sources.domain = d_.config.domain;
  sources.snapshot_database = [this](const std::string& path) { return d_.db.snapshot_to(path); };
  sources.copy_events = [this](const std::string& dir) { return d_.events.copy_to(dir); };
  std::string archive = staging + "/backup.tar.gz";
  int64_t started = now_ms();
  auto manifest = write_backup(sources, staging, archive);
  if (!manifest) return fail(manifest.error());
  if (auto back = verify_backup(archive); !back)
    return fail(ApiError::internal("the new backup does not read back: " + back.error().message));
  auto digest = sha256_file(archive);
  if (!digest) return fail(digest.error());
  std::error_code ec;
  auto bytes = fs::file_size(archive, ec);
  if (ec) return fail(ApiError::internal("backup archive: " + ec.message()));
  log::info("admin", "backup files=" + std::to_string(manifest->files.size()) + " bytes=" + std::to_string(bytes) +
                         " ms=" + std::to_string(now_ms() - started));
  json result = {{"stream_bytes", bytes}, {"stream_sha256", *digest}, {"files", manifest->files.size()},
                 {"created_at", iso8601_ms(manifest->created_at_ms)}};
  release.handed_over = true;
  return {ok_line(result), archive, [this, staging] {
            std::error_code ignored;
            fs::remove_all(staging, ignored);
            backup_running_ = false;
          }};
}

AdminReply AdminService::daemon_stop() {
  if (!d_.stop_daemon)
    return {error_line({501, "not-supported", "this daemon cannot be stopped over the admin socket"}), "", nullptr};
  log::info("admin", "stop requested over the admin socket");
  return {ok_line({{"stopping", true}}), "", d_.stop_daemon};
}

}  // namespace wirebox::admin
