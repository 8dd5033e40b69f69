// NotificationStore: each user's persisted event queue. A notification carries one or more
// events and is visible either to all of the user's clients or only to listed ones (per-client
// ciphertext). Ids are TimeUUIDs in append order; list() pages strictly after `since`.
// Appends are committed before they return (an event acknowledged by a 2xx is on disk).
// Thread-safe.
//
// This SQLite implementation serves the foundation's client registration flow; the
// notification-stream issue replaces it with the LMDB queue behind this same interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/api_error.h"
#include "storage/migrations.h"

namespace wirebox::storage {
class Database;
}

namespace wirebox::notifications {

struct Notification {
  std::string id;
  nlohmann::json payload;  // array of events
};

struct Page {
  std::vector<Notification> notifications;
  bool has_more = false;
};

class NotificationStore {
 public:
  virtual ~NotificationStore() = default;
  // clients empty = visible to every client of the user. Returns the new id.
  virtual Result<std::string> append(const std::string& user_id, const std::vector<std::string>& clients,
                                     const nlohmann::json& payload) = 0;
  // Notifications visible to client after `since` (all if empty); 404 if since is unknown.
  virtual Result<Page> list(const std::string& user_id, const std::string& client_id, const std::string& since,
                            size_t size) = 0;
  virtual std::optional<Notification> last(const std::string& user_id, const std::string& client_id) = 0;
  virtual std::optional<Notification> find(const std::string& user_id, const std::string& client_id,
                                           const std::string& id) = 0;
};

storage::ModuleSchema notification_schema();
std::unique_ptr<NotificationStore> make_sqlite_notification_store(storage::Database& db);

}  // namespace wirebox::notifications
