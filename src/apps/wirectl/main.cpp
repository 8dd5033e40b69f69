// wirectl: administers a wireboxd through its local admin socket (see src/admin/admin_server.h
// for the protocol and docs/wirectl.md for the commands). `backup restore`, `backup verify` and
// `config check` work without a daemon. Human output by default, --json for scripts; one error
// line on stderr; exit codes below.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "admin/admin_client.h"
#include "admin/backup.h"
#include "admin/data_dir_lock.h"
#include "core/config.h"

namespace {

using nlohmann::json;
using namespace wirebox;
namespace fs = std::filesystem;

// Exit codes (documented in docs/wirectl.md).
constexpr int kOk = 0;
constexpr int kRefused = 1;      // the daemon refused the request (not found, conflict, bad input)
constexpr int kUsage = 2;        // bad command line or configuration
constexpr int kUnreachable = 3;  // no daemon on the socket, permission denied, timeout
constexpr int kBadBackup = 4;    // the archive is corrupt or not a wirebox backup
constexpr int kFailed = 5;       // the daemon or wirectl failed (I/O, internal error)
constexpr int kBusy = 6;         // restore: a daemon is running on the data directory

constexpr const char* kDefaultConfig = "/etc/wirebox/wirebox.conf";

struct Options {
  std::optional<std::string> config_file;
  std::string data_dir;
  std::string socket;
  bool json = false;
  int timeout_seconds = 0;  // 0: 60 s, or 1 h for backups (the daemon answers once the archive is built)
  std::chrono::seconds timeout(int fallback) const {
    return std::chrono::seconds(timeout_seconds ? timeout_seconds : fallback);
  }
};

int exit_code_for(const ApiError& e) {
  if (e.label == "daemon-unreachable") return kUnreachable;
  if (e.label == "invalid-backup") return kBadBackup;
  if (e.label == "data-dir-busy") return kBusy;
  if (e.label == "invalid-config") return kUsage;
  if (e.code >= 400 && e.code < 500) return kRefused;
  return kFailed;
}

int fail(const Options& o, const ApiError& e) {
  if (o.json) std::cout << json{{"error", e.to_json()}}.dump() << "\n";
  std::cerr << "wirectl: " << e.message << " (" << e.label << ")\n";
  return exit_code_for(e);
}

Result<Config> load(const Options& o) {
  std::map<std::string, std::string> overrides;
  if (!o.data_dir.empty()) overrides["server.data_dir"] = o.data_dir;
  if (!o.socket.empty()) overrides["admin.socket"] = o.socket;
  std::optional<std::string> file = o.config_file;
  std::error_code ec;
  if (!file && fs::exists(kDefaultConfig, ec)) file = kDefaultConfig;
  auto config = load_config(file, overrides);
  if (!config) return ApiError{400, "invalid-config", config.error().message};
  return config;
}

std::string human_bytes(int64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string human_duration(int64_t s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lldd %02lldh %02lldm %02llds", static_cast<long long>(s / 86400),
                static_cast<long long>(s / 3600 % 24), static_cast<long long>(s / 60 % 60),
                static_cast<long long>(s % 60));
  return buf;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// Left-aligned columns, two spaces apart.
void print_table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(head.size());
  for (size_t i = 0; i < head.size(); ++i) width[i] = head[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << out << "\n";
  };
  line(head);
  for (const auto& r : rows) line(r);
}

void print_status(const json& s) {
  std::cout << "wirebox " << str(s, "version") << "  domain " << str(s, "domain") << "  up "
            << human_duration(s.value("uptime_seconds", int64_t{0})) << "\n";
  const json& u = s["users"];
  std::cout << "users     " << u.value("total", 0) << " (" << u.value("suspended", 0) << " suspended, "
            << u.value("deleted", 0) << " deleted)\n";
  std::cout << "clients   " << s.value("clients", 0) << "\n";
  std::cout << "online    " << s.value("online_sockets", 0) << " WebSocket(s)\n";
  const json& b = s["storage_bytes"];
  std::cout << "storage   " << human_bytes(b.value("total", int64_t{0})) << " in " << str(s, "data_dir")
            << " (database " << human_bytes(b.value("database", int64_t{0})) << ", events "
            << human_bytes(b.value("events", int64_t{0})) << ", assets " << human_bytes(b.value("assets", int64_t{0}))
            << ")\n";
  const json& t = s["turn"];
  if (t.value("enabled", false))
    std::cout << "turn      " << t.value("allocations_active", 0) << " allocation(s) active, "
              << t.value("allocations_created", 0) << " created\n";
  else
    std::cout << "turn      off\n";
  if (s.contains("deeplink"))
    std::cout << "deeplink  " << str(s["deeplink"], "page") << "  (mobile apps: " << str(s["deeplink"], "access_link")
              << ")\n";
}

void print_user(const json& u) {
  for (const char* k : {"id", "name", "email", "handle", "status", "team", "team_role", "created_at"}) {
    std::string v = str(u, k);
    if (!v.empty()) std::cout << k << std::string(12 - std::strlen(k), ' ') << v << "\n";
  }
  if (u.contains("clients")) {
    std::cout << "clients     " << u["clients"].size() << "\n";
    for (const auto& c : u["clients"])
      std::cout << "  " << str(c, "id") << "  " << str(c, "type") << "  " << str(c, "class") << "  "
                << str(c, "label") << "  last active " << str(c, "last_active") << "\n";
  }
}

void print_result(const std::string& command, const json& r) {
  if (command == "status") return print_status(r);
  if (command == "user.list") {
    std::vector<std::vector<std::string>> rows;
    for (const auto& u : r["users"])
      rows.push_back({str(u, "id"), str(u, "status"), str(u, "email"), str(u, "handle"), str(u, "name"),
                      str(u, "team")});
    print_table({"ID", "STATUS", "EMAIL", "HANDLE", "NAME", "TEAM"}, rows);
    std::cout << rows.size() << " of " << r.value("total", 0) << " user(s)\n";
    return;
  }
  if (command == "user.create" || command == "user.show") {
    print_user(r);
    if (r.contains("password")) std::cout << "password    " << str(r, "password") << "  (generated; shown once)\n";
    return;
  }
  if (command == "user.reset-password") {
    std::cout << "password of " << str(r, "id") << " reset; every session was logged out\n";
    if (r.contains("password")) std::cout << "new password: " << str(r, "password") << "  (generated; shown once)\n";
    return;
  }
  if (command == "team.list") {
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : r["teams"])
      rows.push_back({str(t, "id"), str(t, "members"), str(t, "name"), str(t, "created_at")});
    print_table({"ID", "MEMBERS", "NAME", "CREATED"}, rows);
    return;
  }
  if (command == "team.create") {
    std::cout << "team " << str(r, "id") << " \"" << str(r, "name") << "\" created, owner " << str(r, "creator") << "\n";
    return;
  }
  if (command == "config.show") {
    for (const auto& [k, v] : r["values"].items()) std::cout << k << " = " << v.get<std::string>() << "\n";
    return;
  }
  if (command == "team.add-member") {
    std::cout << "user " << str(r, "user") << " added to team " << str(r, "team") << " as " << str(r, "role") << "\n";
    return;
  }
  if (command == "team.remove-member") {
    std::cout << "user " << str(r, "user") << " removed from team " << str(r, "team") << "\n";
    return;
  }
  if (r.contains("status")) {
    std::cout << "user " << str(r, "id") << " is now " << str(r, "status") << "\n";
    return;
  }
  std::cout << r.dump(2) << "\n";
}

int call_daemon(const Options& o, const std::string& command, const json& args) {
  auto config = load(o);
  if (!config) return fail(o, config.error());
  admin::AdminClient client;
  auto timeout = o.timeout(60);
  if (auto s = client.connect(admin_socket_path(*config), timeout); !s) return fail(o, s.error());
  auto r = client.call(command, args, timeout);
  if (!r) return fail(o, r.error());
  if (o.json) std::cout << r->dump() << "\n";
  else print_result(command, *r);
  return kOk;
}

int backup_create(const Options& o, const std::string& file, bool force) {
  auto config = load(o);
  if (!config) return fail(o, config.error());
  std::error_code ec;
  if (!force && fs::exists(file, ec))
    return fail(o, ApiError{409, "file-exists", file + " exists (pass --force to overwrite)"});
  // A new file of our own (mkstemp: O_EXCL, mode 0600), renamed over `file` at the end. A fixed
  // name opened with O_TRUNC wrote the archive, secrets included, through whatever was already
  // there: a world-readable file kept its mode, a symlink made root overwrite its target.
  std::string partial = file + ".partial-XXXXXX";
  int fd = ::mkstemp(partial.data());
  if (fd < 0) return fail(o, ApiError::internal("cannot create " + partial + ": " + std::strerror(errno)));
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  admin::AdminClient client;
  auto timeout = o.timeout(3600);
  auto done = [&](const ApiError& e) {
    ::close(fd);
    ::unlink(partial.c_str());
    return fail(o, e);
  };
  if (auto s = client.connect(admin_socket_path(*config), timeout); !s) return done(s.error());
  bool write_failed = false;
  auto r = client.call_streaming(
      "backup.create", json::object(),
      [&](const char* data, size_t n) {
        while (n > 0) {
          ssize_t w = ::write(fd, data, n);
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) {
            write_failed = true;
            return false;
          }
          data += w;
          n -= static_cast<size_t>(w);
        }
        return true;
      },
      timeout);
  if (write_failed) return done(ApiError::internal("cannot write " + partial + ": " + std::strerror(errno)));
  if (!r) return done(r.error());
  if (fsync(fd) != 0) return done(ApiError::internal("cannot sync " + partial + ": " + std::strerror(errno)));
  ::close(fd);
  fs::rename(partial, file, ec);
  if (ec) {
    ::unlink(partial.c_str());
    return fail(o, ApiError::internal("cannot rename " + partial + " to " + file + ": " + ec.message()));
  }
  json out = {{"file", file}, {"bytes", (*r)["stream_bytes"]}, {"sha256", (*r)["stream_sha256"]},
              {"files", (*r)["files"]}, {"created_at", (*r)["created_at"]}};
  if (o.json) std::cout << out.dump() << "\n";
  else
    std::cout << "backup written to " << file << " (" << human_bytes(out["bytes"].get<int64_t>()) << ", "
              << out["files"] << " files, sha256 " << out["sha256"].get<std::string>() << ")\n";
  return kOk;
}

json manifest_summary(const admin::BackupManifest& m) {
  int64_t bytes = 0;
  for (const auto& f : m.files) bytes += f.size;
  return {{"files", m.files.size()}, {"bytes", bytes}, {"domain", m.domain}, {"created_at_ms", m.created_at_ms}};
}

int backup_verify(const Options& o, const std::string& file) {
  auto m = admin::verify_backup(file);
  if (!m) return fail(o, m.error());
  json out = manifest_summary(*m);
  out["file"] = file;
  out["ok"] = true;
  if (o.json) std::cout << out.dump() << "\n";
  else
    std::cout << file << ": ok, " << m->files.size() << " files, " << human_bytes(out["bytes"].get<int64_t>())
              << ", domain " << m->domain << "\n";
  return kOk;
}

int backup_restore(const Options& o, const std::string& file, bool stop_daemon) {
  auto config = load(o);
  if (!config) return fail(o, config.error());
  const std::string& dir = config->data_dir;
  // Verify before touching anything, the daemon included.
  auto checked = admin::verify_backup(file);
  if (!checked) return fail(o, checked.error());
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return fail(o, ApiError::internal("cannot create " + dir + ": " + ec.message()));
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  auto lock = admin::DataDirLock::try_acquire(dir);
  if (!lock && lock.error().label == "data-dir-busy") {
    if (!stop_daemon)
      return fail(o, ApiError{409, "data-dir-busy",
                              "a wireboxd is running on " + dir +
                                  "; stop it first (systemctl stop wireboxd) or pass --stop-daemon"});
    admin::AdminClient client;
    auto timeout = o.timeout(60);
    if (auto s = client.connect(admin_socket_path(*config), timeout); !s) return fail(o, s.error());
    if (auto r = client.call("daemon.stop", json::object(), timeout); !r) return fail(o, r.error());
    if (!o.json) std::cerr << "wirectl: asked the daemon to stop; waiting for it to exit\n";
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!lock && lock.error().label == "data-dir-busy" && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      lock = admin::DataDirLock::try_acquire(dir);
    }
  }
  if (!lock) return fail(o, lock.error());
  auto report = admin::restore_backup(file, dir);
  if (!report) return fail(o, report.error());
  json out = manifest_summary(report->manifest);
  out["data_dir"] = dir;
  out["previous"] = report->previous_dir;
  if (o.json) std::cout << out.dump() << "\n";
  else {
    std::cout << "restored " << report->manifest.files.size() << " files into " << dir << "\n";
    if (!report->previous_dir.empty()) std::cout << "the replaced data is in " << report->previous_dir << "\n";
    std::cout << "start the daemon again (systemctl start wireboxd)\n";
  }
  return kOk;
}

int config_check(const Options& o) {
  auto config = load(o);
  if (!config) return fail(o, config.error());
  if (o.json) std::cout << json{{"ok", true}, {"data_dir", config->data_dir},
                                {"admin_socket", admin_socket_path(*config)}}.dump()
                        << "\n";
  else std::cout << "configuration ok (data dir " << config->data_dir << ", admin socket "
                 << admin_socket_path(*config) << ")\n";
  return kOk;
}

const char* kBashCompletion = R"(# bash completion for wirectl; load with: source <(wirectl completion bash)
_wirectl() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; }
  local globals="--config --data-dir --socket --json --timeout --help --version"
  case "$prev" in
    --config|--data-dir|--socket) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --role) COMPREPLY=($(compgen -W "owner admin member partner" -- "$cur")); return ;;
  esac
  local cmd="" sub="" w
  for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) continue ;; esac
    if [ -z "$cmd" ]; then cmd="$w"; elif [ -z "$sub" ]; then sub="$w"; fi
  done
  local words_now=""
  case "$cmd" in
    "") words_now="status user team config backup completion" ;;
    user) [ -z "$sub" ] && words_now="create list show delete suspend unsuspend reset-password"
          [ "$sub" = create ] && words_now="--name --email --password --password-stdin --handle --team --role"
          [ "$sub" = list ] && words_now="--offset --limit"
          [ "$sub" = reset-password ] && words_now="--password --password-stdin"
          [ "$sub" = delete ] && words_now="--yes" ;;
    team) [ -z "$sub" ] && words_now="create list add-member remove-member"
          [ "$sub" = create ] && words_now="--name --owner"
          [ "$sub" = add-member ] && words_now="--role" ;;
    config) [ -z "$sub" ] && words_now="show check" ;;
    backup) if [ -z "$sub" ]; then words_now="create verify restore"
            else COMPREPLY=($(compgen -f -- "$cur")); [ "$sub" = restore ] && COMPREPLY+=($(compgen -W "--stop-daemon" -- "$cur"))
                 [ "$sub" = create ] && COMPREPLY+=($(compgen -W "--force" -- "$cur")); return; fi ;;
    completion) [ -z "$sub" ] && words_now="bash" ;;
  esac
  COMPREPLY=($(compgen -W "$words_now $globals" -- "$cur"))
}
complete -F _wirectl wirectl
)";

Result<std::string> read_password_stdin() {
  std::string line;
  if (!std::getline(std::cin, line)) return ApiError::bad_request("no password on standard input");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wirectl — administer a wirebox daemon over its local admin socket", "wirectl"};
  app.set_version_flag("--version", WIREBOX_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  Options o;
  app.add_option("--config", o.config_file, std::string("wireboxd configuration file (default ") + kDefaultConfig +
                                                " if it exists)");
  app.add_option("--data-dir", o.data_dir, "Data directory (overrides server.data_dir)");
  app.add_option("--socket", o.socket, "Admin socket path (overrides admin.socket; default <data_dir>/admin.sock)");
  app.add_flag("--json", o.json, "Print results as JSON (one object per line) for scripts");
  app.add_option("--timeout", o.timeout_seconds, "Seconds to wait for the daemon (default 60; 3600 for backups)")
      ->check(CLI::Range(1, 86400));
  app.footer(
      "Exit codes: 0 ok, 1 refused by the daemon, 2 usage, 3 daemon unreachable, 4 invalid backup, 5 failure, "
      "6 data directory in use.\nUSER is a user id, an email address or a handle.");

  std::function<int()> action;
  std::string user, team, name, email, handle, role, file;
  std::optional<std::string> password;
  bool password_stdin = false, yes = false, force = false, stop_daemon = false;
  int64_t offset = 0, limit = 1000;

  app.add_subcommand("status", "Version, uptime, users, clients, online sockets, storage use, TURN allocations")
      ->callback([&] { action = [&] { return call_daemon(o, "status", json::object()); }; });

  // --password-stdin or --password into args["password"]; the exit code if stdin failed.
  auto take_password = [&](json& args) -> std::optional<int> {
    if (password_stdin) {
      auto p = read_password_stdin();
      if (!p) return fail(o, p.error());
      args["password"] = *p;
    } else if (password) {
      args["password"] = *password;
    }
    return std::nullopt;
  };
  auto* user_cmd = app.add_subcommand("user", "Manage accounts");
  user_cmd->require_subcommand(1);
  auto* create = user_cmd->add_subcommand("create", "Create an account (prints a generated password unless given)");
  create->add_option("--name", name, "Display name")->required();
  create->add_option("--email", email, "Email address (the login)")->required();
  create->add_option("--password", password, "Password (visible in the process list; prefer --password-stdin)");
  create->add_flag("--password-stdin", password_stdin, "Read the password from the first line of standard input");
  create->add_option("--handle", handle, "Handle (@name)");
  create->add_option("--team", team, "Team id to join");
  create->add_option("--role", role, "Role in the team: owner | admin | member | partner (default member)");
  create->callback([&] {
    action = [&] {
      json args = {{"name", name}, {"email", email}};
      if (!handle.empty()) args["handle"] = handle;
      if (!team.empty()) args["team"] = team;
      if (!role.empty()) args["role"] = role;
      if (auto failed = take_password(args)) return *failed;
      return call_daemon(o, "user.create", args);
    };
  });
  auto* list = user_cmd->add_subcommand("list", "List accounts, oldest first");
  list->add_option("--offset", offset, "Skip this many")->check(CLI::NonNegativeNumber);
  list->add_option("--limit", limit, "At most this many (default 1000)")->check(CLI::Range(1, 100000));
  list->callback([&] {
    action = [&] { return call_daemon(o, "user.list", {{"offset", offset}, {"limit", limit}}); };
  });
  auto* show = user_cmd->add_subcommand("show", "Show an account with its clients");
  show->add_option("USER", user, "User id, email or handle")->required();
  show->callback([&] { action = [&] { return call_daemon(o, "user.show", {{"user", user}}); }; });
  auto* del = user_cmd->add_subcommand("delete", "Delete an account (Wire-style: the id remains as a deleted user)");
  del->add_option("USER", user, "User id, email or handle")->required();
  del->add_flag("--yes", yes, "Confirm; required, deletion cannot be undone");
  del->callback([&] {
    action = [&] {
      if (!yes) return fail(o, ApiError{400, "confirmation-required", "deleting " + user + " cannot be undone; add --yes"});
      return call_daemon(o, "user.delete", {{"user", user}});
    };
  });
  for (const char* verb : {"suspend", "unsuspend"}) {
    bool s = std::string(verb) == "suspend";
    auto* c = user_cmd->add_subcommand(verb, s ? "Suspend: no login, tokens refused, sessions and sockets closed"
                                               : "Lift a suspension");
    c->add_option("USER", user, "User id, email or handle")->required();
    c->callback([&, s] {
      action = [&, s] { return call_daemon(o, s ? "user.suspend" : "user.unsuspend", {{"user", user}}); };
    });
  }
  auto* reset = user_cmd->add_subcommand("reset-password", "Set a new password (generated unless given); logs out every session");
  reset->add_option("USER", user, "User id, email or handle")->required();
  reset->add_option("--password", password, "New password (prefer --password-stdin)");
  reset->add_flag("--password-stdin", password_stdin, "Read the password from the first line of standard input");
  reset->callback([&] {
    action = [&] {
      json args = {{"user", user}};
      if (auto failed = take_password(args)) return *failed;
      return call_daemon(o, "user.reset-password", args);
    };
  });

  auto* team_cmd = app.add_subcommand("team", "Manage teams");
  team_cmd->require_subcommand(1);
  auto* tcreate = team_cmd->add_subcommand("create", "Create a team owned by a user without a team");
  tcreate->add_option("--name", name, "Team name")->required();
  tcreate->add_option("--owner", user, "Owner: user id, email or handle")->required();
  tcreate->callback([&] { action = [&] { return call_daemon(o, "team.create", {{"name", name}, {"owner", user}}); }; });
  team_cmd->add_subcommand("list", "List teams with their member counts")->callback([&] {
    action = [&] { return call_daemon(o, "team.list", json::object()); };
  });
  auto* add = team_cmd->add_subcommand("add-member", "Add a user without a team to a team");
  add->add_option("TEAM", team, "Team id")->required();
  add->add_option("USER", user, "User id, email or handle")->required();
  add->add_option("--role", role, "owner | admin | member | partner (default member)");
  add->callback([&] {
    action = [&] {
      json args = {{"team", team}, {"user", user}};
      if (!role.empty()) args["role"] = role;
      return call_daemon(o, "team.add-member", args);
    };
  });
  auto* remove = team_cmd->add_subcommand("remove-member", "Remove a user from a team (not its last owner)");
  remove->add_option("TEAM", team, "Team id")->required();
  remove->add_option("USER", user, "User id, email or handle")->required();
  remove->callback([&] {
    action = [&] { return call_daemon(o, "team.remove-member", {{"team", team}, {"user", user}}); };
  });

  auto* config_cmd = app.add_subcommand("config", "Configuration");
  config_cmd->require_subcommand(1);
  config_cmd->add_subcommand("show", "The running daemon's effective configuration")->callback([&] {
    action = [&] { return call_daemon(o, "config.show", json::object()); };
  });
  config_cmd->add_subcommand("check", "Validate the configuration file and flags (no daemon needed)")->callback([&] {
    action = [&] { return config_check(o); };
  });

  auto* backup_cmd = app.add_subcommand("backup", "Backups (one .tar.gz with a checksum manifest)");
  backup_cmd->require_subcommand(1);
  auto* bcreate = backup_cmd->add_subcommand("create", "Take an online, consistent backup from the running daemon");
  bcreate->add_option("FILE", file, "Archive to write (mode 0600; it holds secrets)")->required();
  bcreate->add_flag("--force", force, "Overwrite FILE if it exists");
  bcreate->callback([&] { action = [&] { return backup_create(o, file, force); }; });
  auto* bverify = backup_cmd->add_subcommand("verify", "Check an archive (paths, checksums, manifest) without restoring");
  bverify->add_option("FILE", file, "Archive")->required()->check(CLI::ExistingFile);
  bverify->callback([&] { action = [&] { return backup_verify(o, file); }; });
  auto* brestore = backup_cmd->add_subcommand("restore", "Verify an archive, then restore it into the data directory");
  brestore->add_option("FILE", file, "Archive")->required()->check(CLI::ExistingFile);
  brestore->add_flag("--stop-daemon", stop_daemon, "Stop a daemon running on the data directory first");
  brestore->callback([&] { action = [&] { return backup_restore(o, file, stop_daemon); }; });

  auto* completion = app.add_subcommand("completion", "Print a shell completion script");
  std::string shell;
  completion->add_option("SHELL", shell, "bash")->required()->check(CLI::IsMember({"bash"}));
  completion->callback([&] {
    action = [&] {
      std::cout << kBashCompletion;
      return kOk;
    };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "wirectl: " << e.what() << " (see wirectl --help)\n";
    return kUsage;
  }
  if (!action) {
    std::cerr << "wirectl: missing command (see wirectl --help)\n";
    return kUsage;
  }
  return action();
}
