// ClientStore: the clients module's tables — a user's devices ("clients") and their Proteus
// prekeys. Invariants it guarantees under concurrency:
//  - claim() hands out each prekey at most once (delete-and-return in one write transaction);
//    when none are left it returns the client's last-resort key (id 65535), never consumed;
//  - add() enforces the permanent-client cap atomically with the insert.
// Thread-safe; mutations are committed when they return.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/api_error.h"
#include "storage/migrations.h"

namespace wirebox::storage {
class Database;
}

namespace wirebox::clients {

constexpr int64_t kLastResortPrekeyId = 65535;

struct Prekey {
  int64_t id = 0;
  std::string key;  // base64 of a serialized Proteus PreKeyBundle, opaque to the server
};

struct Client {
  std::string user_id;
  std::string id;
  std::string type;   // permanent | temporary
  std::string cls;    // desktop | phone | tablet
  std::string label;
  std::string model;
  std::string cookie_label;
  std::vector<std::string> capabilities;
  int64_t created_at_ms = 0;
  int64_t last_active_ms = 0;
};

struct NewClient {
  Client client;  // id, created_at filled by add()
  Prekey last_resort;
  std::vector<Prekey> prekeys;
};

struct ClientUpdate {
  std::vector<Prekey> prekeys;  // upserted by id
  std::optional<Prekey> last_resort;
  std::optional<std::string> label;
  std::optional<std::vector<std::string>> capabilities;
};

class ClientStore {
 public:
  virtual ~ClientStore() = default;
  // 403 too-many-clients past max_permanent. A new temporary client replaces the previous
  // temporary one, whose id is reported in replaced_id.
  virtual Result<Client> add(const std::string& user_id, NewClient client, int max_permanent,
                             std::string* replaced_id) = 0;
  virtual std::vector<Client> list(const std::string& user_id) = 0;
  virtual std::map<std::string, std::vector<Client>> list_many(const std::vector<std::string>& user_ids) = 0;
  virtual std::optional<Client> find(const std::string& user_id, const std::string& client_id) = 0;
  virtual Status update(const std::string& user_id, const std::string& client_id, const ClientUpdate& update) = 0;
  virtual Status remove(const std::string& user_id, const std::string& client_id) = 0;
  // nullopt if the client does not exist.
  virtual std::optional<Prekey> claim(const std::string& user_id, const std::string& client_id) = 0;
  virtual std::vector<int64_t> prekey_ids(const std::string& user_id, const std::string& client_id) = 0;
  virtual int64_t count() = 0;
};

storage::ModuleSchema client_schema();
std::unique_ptr<ClientStore> make_sqlite_client_store(storage::Database& db);

}  // namespace wirebox::clients
