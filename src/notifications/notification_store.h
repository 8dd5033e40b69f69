// NotificationStore: each user's persisted event queue. A notification carries one or more
// events and is visible either to all of the user's clients or only to listed ones (per-client
// ciphertext). Ids are TimeUUIDs in append order; list() pages strictly after `since`.
// Appends are committed before they return (an event acknowledged by a 2xx is on disk).
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/api_error.h"

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
  // Notifications visible to client after `since` (all if empty); 404 if since is unknown. At
  // most `size` of them, and no more once their payloads' JSON text reaches `max_bytes` (at
  // least one, however large); has_more says whether either limit cut the page.
  virtual Result<Page> list(const std::string& user_id, const std::string& client_id, const std::string& since,
                            size_t size, size_t max_bytes = SIZE_MAX) = 0;
  virtual std::optional<Notification> last(const std::string& user_id, const std::string& client_id) = 0;
  virtual std::optional<Notification> find(const std::string& user_id, const std::string& client_id,
                                           const std::string& id) = 0;

  // Optional: called on the committing thread right after each commit, in commit order (so in
  // id order), with one appended batch and its ids, before that append() returns. Must not
  // block. Returns false if the store does not support it (the caller then pushes after
  // append() returns, possibly out of order between concurrent appends).
  using CommitObserver = std::function<void(const std::vector<Delivery>&, const std::vector<std::string>& ids)>;
  virtual bool set_commit_observer(CommitObserver) { return false; }
};

struct LmdbStoreOptions {
  std::string dir;                                  // the LMDB environment (created if missing)
  int64_t retention_ms = 28LL * 24 * 3600 * 1000;   // notifications older than this are trimmed
  size_t map_size_bytes = size_t{4} << 30;          // maximum size of the store on disk
  size_t trim_batch = 10000;                        // keys examined per trim pass (one write txn)
  int64_t trim_interval_ms = 60 * 1000;             // pause between passes once a sweep is done
  // Notifications one user's queue keeps at most (per-client ciphertext makes one per client
  // and message). An append beyond it deletes that user's oldest ones in the same commit: a
  // client whose `since` was among them gets 404 from /notifications and resyncs, as after
  // retention trimming. Bounds what one busy user with an offline client can take from the store.
  size_t max_per_user = 100000;
  // When an append finds the store full, notifications older than half the retention are
  // deleted early, then older than a quarter, ..., but never younger than this (then: 507).
  int64_t pressure_min_window_ms = 3600 * 1000;
};

// The LMDB queue: one environment per process (opening the same directory twice in one
// process is refused: LMDB would corrupt its locks). Appends from concurrent threads are
// group-committed by one committer thread (one fsynced write transaction per batch); the same
// thread trims expired notifications in bounded passes in the background. Each user's entry
// count is kept in the meta database so the max_per_user cap costs O(1) per append.
class LmdbNotificationStore : public NotificationStore {
 public:
  // One bounded trim pass as if the time were now_ms; resumes where the previous pass stopped
  // and wraps around. Returns the number of notifications deleted.
  virtual size_t trim_pass(int64_t now_ms) = 0;
  // Writes a consistent, compacted copy of the environment (one read transaction, so appends
  // keep committing) into the existing empty directory `dir`. For online backups; blocking.
  virtual Status copy_to(const std::string& dir) = 0;
};

// Throws std::runtime_error (with the path and LMDB's reason) if the store cannot be opened.
std::unique_ptr<LmdbNotificationStore> make_lmdb_notification_store(const LmdbStoreOptions& options);

}  // namespace wirebox::notifications
