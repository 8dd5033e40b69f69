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

// One notification to enqueue for one user.
struct Delivery {
  std::string user_id;
  std::vector<std::string> clients;  // empty: every client of the user
  nlohmann::json payload;            // array of events (usually one)
};

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
  // Appends all deliveries in one commit; returns their ids in order.
  virtual Result<std::vector<std::string>> append(const std::vector<Delivery>& deliveries) = 0;
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
