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

class TeamStore {
 public:
  virtual ~TeamStore() = default;
  // Creates the team with creator as owner, in one transaction.
  virtual Result<Team> create(const std::string& creator, const std::string& name, const std::string& icon,
                              const std::string& icon_key) = 0;
  virtual std::optional<Team> find(const std::string& team_id) = 0;
  virtual std::vector<Team> teams_of(const std::string& user_id) = 0;
  virtual std::vector<TeamMember> members(const std::string& team_id) = 0;
  virtual std::optional<TeamMember> member(const std::string& team_id, const std::string& user_id) = 0;
  virtual Status add_member(const std::string& team_id, const TeamMember& member) = 0;
  virtual Status remove_member(const std::string& team_id, const std::string& user_id) = 0;
  virtual Status remove(const std::string& team_id) = 0;
};

storage::ModuleSchema team_schema();
std::unique_ptr<TeamStore> make_sqlite_team_store(storage::Database& db);

}  // namespace wirebox::teams
