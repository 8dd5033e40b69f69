#include "notifications/notification_store.h"
#include "notifications/time_uuid.h"
#include "core/time.h"
#include "storage/sqlite.h"

namespace wirebox::notifications {
namespace {

using storage::Connection;

// Visibility: '' means every client; otherwise ",c1,c2," lists the recipients.
constexpr const char* kVisible = "(clients = '' OR instr(clients, ',' || ? || ',') > 0)";

class SqliteNotificationStore : public NotificationStore {
 public:
  explicit SqliteNotificationStore(storage::Database& db) : db_(db) {}

  Result<std::vector<std::string>> append(const std::vector<Delivery>& deliveries) override {
    std::vector<std::string> ids;
    try {
      db_.write([&](Connection& c) {
        ids.clear();
        auto st = c.prepare(
            "INSERT INTO notifications(user_id, id, clients, payload, created_at) VALUES (?, ?, ?, ?, ?)");
        for (const auto& d : deliveries) {
          std::string list;
          if (!d.clients.empty()) {
            list = ",";
            for (const auto& client : d.clients) list += client + ",";
          }
          // Ids are taken inside the write lock so id order and sequence order agree.
          ids.push_back(new_time_uuid());
          st.reset();
          st.bind(1, d.user_id).bind(2, ids.back()).bind(3, list).bind(4, d.payload.dump()).bind(5, now_ms()).run();
        }
      });
    } catch (const storage::SqliteError& e) {
      return ApiError::internal(std::string("notification store: ") + e.what());
    }
    return ids;
  }

  Result<Page> list(const std::string& user_id, const std::string& client_id, const std::string& since,
                    size_t size) override {
    Page page;
    bool unknown_since = false;
    db_.read([&](Connection& c) {
      int64_t after = 0;
      if (!since.empty()) {
        auto st = c.prepare("SELECT seq FROM notifications WHERE user_id = ? AND id = ?");
        st.bind(1, user_id).bind(2, since);
        if (!st.step()) {
          unknown_since = true;
          return;
        }
        after = st.integer(0);
      }
      auto st = c.prepare(std::string("SELECT id, payload FROM notifications WHERE user_id = ? AND seq > ? AND ") +
                          kVisible + " ORDER BY seq LIMIT ?");
      st.bind(1, user_id).bind(2, after).bind(3, client_id).bind(4, static_cast<int64_t>(size + 1));
      while (st.step()) {
        if (page.notifications.size() == size) {
          page.has_more = true;
          break;
        }
        page.notifications.push_back({st.text(0), nlohmann::json::parse(st.text(1))});
      }
    });
    if (unknown_since) return ApiError{404, "not-found", "Some notifications not found"};
    return page;
  }

  std::optional<Notification> last(const std::string& user_id, const std::string& client_id) override {
    std::optional<Notification> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string("SELECT id, payload FROM notifications WHERE user_id = ? AND ") + kVisible +
                          " ORDER BY seq DESC LIMIT 1");
      st.bind(1, user_id).bind(2, client_id);
      if (st.step()) out = Notification{st.text(0), nlohmann::json::parse(st.text(1))};
    });
    return out;
  }

  std::optional<Notification> find(const std::string& user_id, const std::string& client_id,
                                   const std::string& id) override {
    std::optional<Notification> out;
    db_.read([&](Connection& c) {
      auto st = c.prepare(std::string("SELECT id, payload FROM notifications WHERE user_id = ? AND id = ? AND ") +
                          kVisible);
      st.bind(1, user_id).bind(2, id).bind(3, client_id);
      if (st.step()) out = Notification{st.text(0), nlohmann::json::parse(st.text(1))};
    });
    return out;
  }

 private:
  storage::Database& db_;
};

}  // namespace

storage::ModuleSchema notification_schema() {
  return {"notifications",
          {{1,
            "CREATE TABLE notifications (seq INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL,"
            " id TEXT NOT NULL, clients TEXT NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL);"
            "CREATE INDEX notifications_user ON notifications(user_id, seq);"
            "CREATE UNIQUE INDEX notifications_id ON notifications(user_id, id);"}}};
}

std::unique_ptr<NotificationStore> make_sqlite_notification_store(storage::Database& db) {
  return std::make_unique<SqliteNotificationStore>(db);
}

}  // namespace wirebox::notifications
