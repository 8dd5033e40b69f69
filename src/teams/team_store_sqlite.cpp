#include "core/ids.h"
#include "core/time.h"
#include "storage/sqlite.h"
#include "teams/team_store.h"

namespace wirebox::teams {
namespace {

using storage::Connection;

class SqliteTeamStore : public TeamStore {
 public:
  explicit SqliteTeamStore(storage::Database& db) : db_(db) {}

  Result<Team> create(const std::string& creator, const std::string& name, const std::string& icon,
                      const std::string& icon_key) override {
    Team t{new_uuid_v4(), name, icon, icon_key, creator, now_ms()};
    try {
      db_.write([&](Connection& c) {
        c.prepare("INSERT INTO teams(id, name, icon, icon_key, creator, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(1, t.id).bind(2, t.name).bind(3, t.icon).bind(4, t.icon_key).bind(5, t.creator)
            .bind(6, t.created_at_ms).run();
        insert_member(c, t.id, {creator, kOwnerPermissions, "", t.created_at_ms});
      });
    } catch (const storage::SqliteError& e) {
      return ApiError::internal(std::string("team store: ") + e.what());
    }
    return t;
  }

  std::optional<Team> find(const std::string& team_id) override {
    std::optional<Team> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare("SELECT id, name, icon, icon_key, creator, created_at FROM teams WHERE id = ?");
      st.bind(1, team_id);
      if (st.step()) out = Team{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.integer(5)};
    });
    return out;
  }

  std::vector<Team> teams_of(const std::string& user_id) override {
    std::vector<Team> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(
          "SELECT t.id, t.name, t.icon, t.icon_key, t.creator, t.created_at FROM teams t"
          " JOIN team_members m ON m.team_id = t.id WHERE m.user_id = ? ORDER BY t.created_at");
      st.bind(1, user_id);
      while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.integer(5)});
    });
    return out;
  }

  std::vector<std::pair<Team, int64_t>> list() override {
    std::vector<std::pair<Team, int64_t>> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(
          "SELECT t.id, t.name, t.icon, t.icon_key, t.creator, t.created_at,"
          " (SELECT COUNT(*) FROM team_members m WHERE m.team_id = t.id) FROM teams t ORDER BY t.created_at, t.id");
      while (st.step())
        out.emplace_back(Team{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.integer(5)},
                         st.integer(6));
    });
    return out;
  }

  std::vector<TeamMember> members(const std::string& team_id) override {
    std::vector<TeamMember> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(
          "SELECT user_id, permissions, created_by, created_at FROM team_members WHERE team_id = ? ORDER BY created_at");
      st.bind(1, team_id);
      while (st.step()) out.push_back({st.text(0), st.integer(1), st.text(2), st.integer(3)});
    });
    return out;
  }

  std::optional<TeamMember> member(const std::string& team_id, const std::string& user_id) override {
    std::optional<TeamMember> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(
          "SELECT user_id, permissions, created_by, created_at FROM team_members WHERE team_id = ? AND user_id = ?");
      st.bind(1, team_id).bind(2, user_id);
      if (st.step()) out = TeamMember{st.text(0), st.integer(1), st.text(2), st.integer(3)};
    });
    return out;
  }

  Status add_member(const std::string& team_id, const TeamMember& m) override {
    try {
      db_.write([&](Connection& c) { insert_member(c, team_id, m); });
    } catch (const storage::SqliteError& e) {
      if (e.is_constraint()) return ApiError{409, "already-member", "User is already a team member"};
      return ApiError::internal(std::string("team store: ") + e.what());
    }
    return {};
  }

  Status remove_member(const std::string& team_id, const std::string& user_id) override {
    return run("DELETE FROM team_members WHERE team_id = ? AND user_id = ?", team_id, user_id);
  }

  Status remove(const std::string& team_id) override {
    try {
      db_.write([&](Connection& c) {
        c.prepare("DELETE FROM team_members WHERE team_id = ?").bind(1, team_id).run();
        c.prepare("DELETE FROM teams WHERE id = ?").bind(1, team_id).run();
      });
    } catch (const storage::SqliteError& e) {
      return ApiError::internal(std::string("team store: ") + e.what());
    }
    return {};
  }

  Status add_invitation(const Invitation& inv) override {
    return db_.try_write("team store", [&](Connection& c) {
      c.prepare(
           "INSERT INTO team_invitations(id, team_id, email, name, role, code, created_by, created_at)"
           " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
          .bind(1, inv.id).bind(2, inv.team_id).bind(3, inv.email).bind_opt(4, inv.name).bind(5, inv.role)
          .bind(6, inv.code).bind(7, inv.created_by).bind(8, inv.created_at_ms).run();
    });
  }

  std::optional<Invitation> invitation_by_code(const std::string& code, int64_t created_after_ms) override {
    std::optional<Invitation> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string(kInvitationSelect) + " WHERE code = ? AND created_at >= ?");
      st.bind(1, code).bind(2, created_after_ms);
      if (st.step()) out = read_invitation(st);
    });
    return out;
  }

  std::vector<Invitation> invitations(const std::string& team_id) override {
    std::vector<Invitation> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string(kInvitationSelect) + " WHERE team_id = ? ORDER BY created_at");
      st.bind(1, team_id);
      while (st.step()) out.push_back(read_invitation(st));
    });
    return out;
  }

  std::optional<Invitation> invitation(const std::string& team_id, const std::string& invitation_id) override {
    std::optional<Invitation> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string(kInvitationSelect) + " WHERE id = ? AND team_id = ?");
      st.bind(1, invitation_id).bind(2, team_id);
      if (st.step()) out = read_invitation(st);
    });
    return out;
  }

  Result<bool> remove_invitation(const std::string& team_id, const std::string& invitation_id) override {
    bool found = false;
    auto s = db_.try_write("team store", [&](Connection& c) {
      auto del = c.prepare("DELETE FROM team_invitations WHERE id = ? AND team_id = ? RETURNING id");
      del.bind(1, invitation_id).bind(2, team_id);
      found = del.step();
    });
    if (!s) return s.error();
    return found;
  }

  std::vector<Invitation> invitations_for_email(const std::string& email, int64_t created_after_ms) override {
    std::vector<Invitation> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string(kInvitationSelect) + " WHERE lower(email) = lower(?) AND created_at >= ?");
      st.bind(1, email).bind(2, created_after_ms);
      while (st.step()) out.push_back(read_invitation(st));
    });
    return out;
  }

  Status accept_invitation(const Invitation& inv, const TeamMember& member) override {
    bool found = false;
    auto s = db_.try_write("team store", [&](Connection& c) {
      auto del = c.prepare("DELETE FROM team_invitations WHERE id = ? RETURNING id");
      del.bind(1, inv.id);
      found = del.step();
      if (!found) return;
      del.reset();
      insert_member(c, inv.team_id, member);
    });
    if (!s) return s;
    if (!found) return ApiError{400, "invalid-invitation-code", "Invalid invitation code."};
    return {};
  }

 private:
  static constexpr const char* kInvitationSelect =
      "SELECT id, team_id, email, name, role, code, created_by, created_at FROM team_invitations";

  static Invitation read_invitation(storage::Statement& st) {
    return {st.text(0), st.text(1), st.text(2), st.text_or_null(3), st.text(4), st.text(5), st.text(6), st.integer(7)};
  }

  static void insert_member(Connection& c, const std::string& team_id, const TeamMember& m) {
    c.prepare("INSERT INTO team_members(team_id, user_id, permissions, created_by, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(1, team_id).bind(2, m.user_id).bind(3, m.permissions).bind(4, m.created_by).bind(5, m.created_at_ms)
        .run();
  }

  Status run(const char* sql, const std::string& a, const std::string& b) {
    try {
      db_.write([&](Connection& c) { c.prepare(sql).bind(1, a).bind(2, b).run(); });
    } catch (const storage::SqliteError& e) {
      return ApiError::internal(std::string("team store: ") + e.what());
    }
    return {};
  }

  storage::Database& db_;
};

}  // namespace

std::optional<int64_t> role_permissions(const std::string& role) {
  if (role == "owner") return kOwnerPermissions;
  if (role == "admin") return kAdminPermissions;
  if (role == "member") return kMemberPermissions;
  if (role == "partner") return kPartnerPermissions;
  return std::nullopt;
}

storage::ModuleSchema team_schema() {
  return {"teams",
          {{1,
            "CREATE TABLE teams (id TEXT PRIMARY KEY, name TEXT NOT NULL, icon TEXT NOT NULL, icon_key TEXT NOT NULL,"
            " creator TEXT NOT NULL, created_at INTEGER NOT NULL);"
            "CREATE TABLE team_members (team_id TEXT NOT NULL REFERENCES teams(id), user_id TEXT NOT NULL,"
            " permissions INTEGER NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,"
            " PRIMARY KEY (team_id, user_id));"
            "CREATE INDEX team_members_user ON team_members(user_id);"},
           {2,
            "CREATE TABLE team_invitations (id TEXT PRIMARY KEY, team_id TEXT NOT NULL REFERENCES teams(id),"
            " email TEXT NOT NULL, name TEXT, role TEXT NOT NULL, code TEXT NOT NULL UNIQUE,"
            " created_by TEXT NOT NULL, created_at INTEGER NOT NULL);"
            "CREATE INDEX team_invitations_team ON team_invitations(team_id);"}}};
}

std::unique_ptr<TeamStore> make_sqlite_team_store(storage::Database& db) {
  return std::make_unique<SqliteTeamStore>(db);
}

}  // namespace wirebox::teams
