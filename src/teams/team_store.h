// TeamStore: the teams module's tables — teams and their members with Wire's permission
// bitmasks. A team is created with its owner at registration (POST /register with `team`).
// Thread-safe; mutations are committed when they return.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/api_error.h"
#include "storage/migrations.h"

namespace wirebox::storage {
class Database;
}

namespace wirebox::teams {

// Wire's role permission sets (self/copy bitmasks).
constexpr int64_t kOwnerPermissions = 8191;
constexpr int64_t kAdminPermissions = 5951;
constexpr int64_t kMemberPermissions = 1587;
constexpr int64_t kPartnerPermissions = 1025;

struct Team {
  std::string id;
  std::string name;
  std::string icon;
  std::string icon_key;
  std::string creator;
  int64_t created_at_ms = 0;
};

struct TeamMember {
  std::string user_id;
  int64_t permissions = kMemberPermissions;
  std::string created_by;
  int64_t created_at_ms = 0;
};

// A pending invitation to join a team (POST /teams/{tid}/invitations). The code is the secret
// the invitee registers with (`team_code`); it is stored as given (random, 32 bytes base64url).
struct Invitation {
  std::string id;
  std::string team_id;
  std::string email;
  std::optional<std::string> name;
  std::string role;  // owner | admin | member | partner
  std::string code;
  std::string created_by;
  int64_t created_at_ms = 0;
};

// Wire's permission bitmask of a team role name; nullopt for an unknown role.
std::optional<int64_t> role_permissions(const std::string& role);

constexpr int64_t kAddTeamMember = 0x0004;  // Wire's AddTeamMember bit: may invite
// Whether a member holding `inviter` permissions may invite someone into `granted`: they need
// AddTeamMember, and hand out no right they lack. Checked when the invitation is made and again
// when it is used (the inviter may have been removed or demoted since).
inline bool may_invite(int64_t inviter, int64_t granted) {
  return (inviter & kAddTeamMember) != 0 && (granted & ~inviter) == 0;
}

class TeamStore {
 public:
  virtual ~TeamStore() = default;
  // Creates the team with creator as owner, in one transaction.
  virtual Result<Team> create(const std::string& creator, const std::string& name, const std::string& icon,
                              const std::string& icon_key) = 0;
  virtual std::optional<Team> find(const std::string& team_id) = 0;
  virtual std::vector<Team> teams_of(const std::string& user_id) = 0;
  // Every team, oldest first, with its member count (wirectl team list).
  virtual std::vector<std::pair<Team, int64_t>> list() = 0;
  virtual std::vector<TeamMember> members(const std::string& team_id) = 0;
  virtual std::optional<TeamMember> member(const std::string& team_id, const std::string& user_id) = 0;
  virtual Status add_member(const std::string& team_id, const TeamMember& member) = 0;
  virtual Status remove_member(const std::string& team_id, const std::string& user_id) = 0;
  virtual Status remove(const std::string& team_id) = 0;

  virtual Status add_invitation(const Invitation& invitation) = 0;
  // The invitation with this code, if it was created at or after created_after_ms (older ones
  // have expired).
  virtual std::optional<Invitation> invitation_by_code(const std::string& code, int64_t created_after_ms) = 0;
  virtual std::vector<Invitation> invitations(const std::string& team_id) = 0;
  virtual std::optional<Invitation> invitation(const std::string& team_id, const std::string& invitation_id) = 0;
  // Withdraws a pending invitation; false if there was none with this id in this team.
  virtual Result<bool> remove_invitation(const std::string& team_id, const std::string& invitation_id) = 0;
  // Pending invitations (created at or after created_after_ms) for this e-mail, in any team;
  // e-mails compare case-insensitively.
  virtual std::vector<Invitation> invitations_for_email(const std::string& email, int64_t created_after_ms) = 0;
  // Makes `member` a member of the invitation's team and deletes the invitation, in one
  // transaction; 400 invalid-invitation-code if the invitation is gone (used twice).
  virtual Status accept_invitation(const Invitation& invitation, const TeamMember& member) = 0;
};

storage::ModuleSchema team_schema();
std::unique_ptr<TeamStore> make_sqlite_team_store(storage::Database& db);

}  // namespace wirebox::teams
