// UserStore: the users module's tables — accounts (profile, credentials, handle), user
// properties (client-side settings the server stores opaquely) and the contact search index
// (SQLite FTS5). Emails and handles are unique case-insensitively. Thread-safe; mutations are
// committed when they return.
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

namespace wirebox::users {

struct User {
  std::string id;
  std::string name;
  std::string email;   // empty if none
  std::string handle;  // empty if not set
  int64_t accent_id = 0;
  std::string assets_json = "[]";  // [{key,domain?,size,type}] as the client sent it
  std::string locale = "en";
  std::string team_id;  // empty for personal users
  std::string status = "active";  // active | suspended
  int64_t created_at_ms = 0;
};

struct NewUser {
  std::string name;
  std::string email;
  std::string password_hash;
  int64_t accent_id = 0;
  std::string locale = "en";
  std::string team_id;
};

struct ProfileUpdate {
  std::optional<std::string> name;
  std::optional<int64_t> accent_id;
  std::optional<std::string> assets_json;
};

class UserStore {
 public:
  virtual ~UserStore() = default;

  virtual Result<User> create(const NewUser& user) = 0;  // 409 key-exists if the email is taken
  virtual std::optional<User> find(const std::string& id) = 0;
  virtual std::vector<User> find_many(const std::vector<std::string>& ids) = 0;
  virtual std::optional<User> find_by_email(const std::string& email) = 0;
  virtual std::optional<User> find_by_handle(const std::string& handle) = 0;
  virtual std::optional<std::string> password_hash(const std::string& id) = 0;
  virtual Status set_team(const std::string& id, const std::string& team_id) = 0;
  virtual Status update_profile(const std::string& id, const ProfileUpdate& update) = 0;
  virtual Status set_handle(const std::string& id, const std::string& handle) = 0;  // 409 handle-exists
  virtual bool handle_taken(const std::string& handle) = 0;
  virtual Status set_status(const std::string& id, const std::string& status) = 0;
  virtual Status set_password_hash(const std::string& id, const std::string& hash) = 0;
  virtual Status remove(const std::string& id) = 0;
  // Prefix match on name words and handle, best first, for the searcher (who is left out) and
  // what they may see: users without a team, members of the searcher's own team (empty: none),
  // and members of other teams only by their exact handle (wire-server's default inbound
  // search visibility, "searchable by own team").
  virtual std::vector<User> search(const std::string& query, size_t limit, const std::string& searcher_id,
                                   const std::string& searcher_team) = 0;
  virtual int64_t count() = 0;
  // Oldest first, for administration (wirectl user list).
  virtual std::vector<User> list(size_t offset, size_t limit) = 0;
  virtual std::vector<std::string> ids_with_status(const std::string& status) = 0;
  // Deletes the account the way Wire does: the row stays (conversations and contacts still
  // name the id) with status "deleted", name "default", no email, handle, assets, password or
  // properties, and it leaves the search index. Other modules' rows (clients, cookies, team
  // membership) are the caller's to remove.
  virtual Status mark_deleted(const std::string& id) = 0;

  // Properties: key → opaque JSON text.
  virtual std::vector<std::string> property_keys(const std::string& user_id) = 0;
  virtual std::optional<std::string> property(const std::string& user_id, const std::string& key) = 0;
  virtual Status set_property(const std::string& user_id, const std::string& key, const std::string& json_value,
                              size_t max_properties) = 0;  // 403 too-many-properties past the cap
  virtual Status delete_property(const std::string& user_id, const std::string& key) = 0;
  virtual Status clear_properties(const std::string& user_id) = 0;
};

storage::ModuleSchema user_schema();
std::unique_ptr<UserStore> make_sqlite_user_store(storage::Database& db);

}  // namespace wirebox::users
