// The per-user notification queue in LMDB.
//
// Database "queue": key = user_id, NUL, 16-byte sort key of the TimeUUID (time_hi, time_mid,
// time_low, clock_seq+node: byte order == time order), so one user's notifications are one
// contiguous key range in id order and paging is a cursor walk. Value = visibility (u8 count,
// then u8 length + client id for each; count 0 = every client) followed by the payload JSON.
// Database "meta": "last_id" = the highest id ever written, so ids keep increasing after a
// restart even if the wall clock went back; "n", NUL, user_id = the number of notifications in
// that user's queue (8 bytes, native order), maintained by appends and trims, absent for users
// whose queue predates it (then counted once by walking the queue).
//
// Writes: append() queues its batch and waits; one committer thread takes every queued batch,
// writes them in one transaction, commits (LMDB fsyncs the commit), informs the commit observer
// and wakes the appenders. Ids are taken on that thread, so id order == commit order. Between
// commits the same thread runs bounded trim passes; a batch that finds the map full makes it trim
// early (commit()) and retry. Reads use their own read-only transactions (MDB_NOTLS: any
// thread, never blocked by the writer).
#include <lmdb.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "core/log.h"
#include "http/metrics.h"
#include "core/time.h"
#include "notifications/notification_store.h"
#include "notifications/time_uuid.h"

namespace wirebox::notifications {
namespace {

constexpr size_t kSortKeyBytes = 16;
// Keys per transaction when trimming a full store: deletes copy pages too, so small ones are
// likelier to find room.
constexpr size_t kPressureTrimBatch = 1000;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "tttttttt-mmmm-1hhh-cccc-nnnnnnnnnnnn" → hhh mmmm tttttttt cccc nnnn… (16 bytes); false if the
// id is not a version-1 UUID (such an id can never be in the queue).
bool sort_key(std::string_view id, unsigned char out[kSortKeyBytes]) {
  if (!time_uuid_ticks(id)) return false;
  unsigned char raw[16];
  size_t n = 0;
  for (size_t i = 0; i < id.size(); ++i) {
    if (id[i] == '-') continue;
    raw[n / 2] = static_cast<unsigned char>(n % 2 == 0 ? hex_digit(id[i]) << 4 : raw[n / 2] | hex_digit(id[i]));
    ++n;
  }
  const int order[16] = {6, 7, 4, 5, 0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15};
  for (int i = 0; i < 16; ++i) out[i] = raw[order[i]];
  return true;
}

std::string id_from_sort_key(const unsigned char* k) {
  const int order[16] = {4, 5, 6, 7, 2, 3, 0, 1, 8, 9, 10, 11, 12, 13, 14, 15};  // raw[i] = k[order[i]]
  static const char* hex = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    unsigned char b = k[order[i]];
    s.push_back(hex[b >> 4]);
    s.push_back(hex[b & 15]);
  }
  return s;
}

uint64_t ticks_of_sort_key(const unsigned char* k) {
  uint64_t t = static_cast<uint64_t>(k[0] & 0x0f) << 56 | static_cast<uint64_t>(k[1]) << 48 |
               static_cast<uint64_t>(k[2]) << 40 | static_cast<uint64_t>(k[3]) << 32;
  for (int i = 4; i < 8; ++i) t |= static_cast<uint64_t>(k[i]) << (8 * (7 - i));
  return t;
}

std::string user_prefix(const std::string& user_id) {
  std::string p = user_id;
  p.push_back('\0');
  return p;
}

// Smallest key after every key of the user.
std::string user_end(const std::string& user_id) {
  std::string p = user_id;
  p.push_back('\x01');
  return p;
}

std::string make_key(const std::string& user_id, const unsigned char sk[kSortKeyBytes]) {
  std::string k = user_prefix(user_id);
  k.append(reinterpret_cast<const char*>(sk), kSortKeyBytes);
  return k;
}

std::string encode_value(const Delivery& d) {
  std::string v;
  v.push_back(static_cast<char>(std::min<size_t>(d.clients.size(), 255)));
  for (size_t i = 0; i < d.clients.size() && i < 255; ++i) {
    const std::string& c = d.clients[i];
    v.push_back(static_cast<char>(std::min<size_t>(c.size(), 255)));
    v.append(c, 0, std::min<size_t>(c.size(), 255));
  }
  v += d.payload.dump();
  return v;
}

// Whether client may see the value; on true, payload points at the JSON text.
bool visible(std::string_view value, const std::string& client, std::string_view& payload) {
  if (value.empty()) return false;
  size_t n = static_cast<unsigned char>(value[0]);
  size_t pos = 1;
  bool ok = n == 0;
  for (size_t i = 0; i < n; ++i) {
    if (pos >= value.size()) return false;
    size_t len = static_cast<unsigned char>(value[pos++]);
    if (pos + len > value.size()) return false;
    if (!ok && !client.empty() && value.substr(pos, len) == client) ok = true;
    pos += len;
  }
  payload = value.substr(pos);
  return ok;
}

MDB_val as_val(const std::string& s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view as_view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

bool has_prefix(const MDB_val& key, const std::string& prefix) {
  return key.mv_size == prefix.size() + kSortKeyBytes && std::memcmp(key.mv_data, prefix.data(), prefix.size()) == 0;
}

void check(int rc, const std::string& what) {
  if (rc != MDB_SUCCESS) throw std::runtime_error(what + ": " + mdb_strerror(rc));
}

// Directories with an open environment in this process.
std::mutex g_open_mu;
std::set<std::string> g_open_dirs;

class ReadTxn {
 public:
  explicit ReadTxn(MDB_env* env) { check(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_), "lmdb read txn"); }
  ~ReadTxn() { mdb_txn_abort(txn_); }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
};

class Cursor {
 public:
  Cursor(MDB_txn* txn, MDB_dbi dbi) { check(mdb_cursor_open(txn, dbi, &c_), "lmdb cursor"); }
  ~Cursor() { mdb_cursor_close(c_); }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  int get(MDB_val& k, MDB_val& v, MDB_cursor_op op) { return mdb_cursor_get(c_, &k, &v, op); }
  MDB_cursor* raw() const { return c_; }

 private:
  MDB_cursor* c_ = nullptr;
};

Notification to_notification(const MDB_val& key, std::string_view payload) {
  const auto* sk = static_cast<const unsigned char*>(key.mv_data) + (key.mv_size - kSortKeyBytes);
  return {id_from_sort_key(sk), nlohmann::json::parse(payload)};
}

class LmdbStore final : public LmdbNotificationStore {
 public:
  explicit LmdbStore(const LmdbStoreOptions& opt) : opt_(opt) {
    std::error_code ec;
    std::filesystem::create_directories(opt_.dir, ec);
    if (ec) throw std::runtime_error("cannot create " + opt_.dir + ": " + ec.message());
    dir_key_ = std::filesystem::weakly_canonical(opt_.dir, ec).string();
    {
      std::lock_guard<std::mutex> lock(g_open_mu);
      if (!g_open_dirs.insert(dir_key_).second)
        throw std::runtime_error("notification store " + opt_.dir + " is already open in this process");
    }
    try {
      open_env();
    } catch (...) {
      close_env();
      throw;
    }
    committer_ = std::thread([this] { run_committer(); });
  }

  ~LmdbStore() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    committer_.join();
    close_env();
  }

  Result<std::vector<std::string>> append(const std::vector<Delivery>& deliveries) override {
    if (deliveries.empty()) return std::vector<std::string>{};
    // Serialise on the caller's thread: the committer only copies bytes into the transaction.
    std::vector<std::string> values;
    values.reserve(deliveries.size());
    for (const Delivery& d : deliveries) values.push_back(encode_value(d));
    Pending p{&deliveries, std::move(values), {}, std::nullopt, false};
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) return ApiError::internal("notification store is closed");
    queue_.push_back(&p);
    wake_.notify_one();
    done_.wait(lock, [&] { return p.done; });
    if (p.error) return *p.error;
    return std::move(p.ids);
  }

  Status copy_to(const std::string& dir) override {
    int rc = mdb_env_copy2(env_, dir.c_str(), MDB_CP_COMPACT);
    if (rc != MDB_SUCCESS) return ApiError::internal("notification store copy to " + dir + ": " + mdb_strerror(rc));
    return {};
  }

  Result<Page> list(const std::string& user_id, const std::string& client_id, const std::string& since,
                    size_t size, size_t max_bytes) override {
    Page page;
    size_t bytes = 0;
    std::string prefix = user_prefix(user_id);
    ReadTxn txn(env_);
    Cursor cur(txn.get(), queue_db_);
    MDB_val k, v;
    int rc;
    if (!since.empty()) {
      unsigned char sk[kSortKeyBytes];
      if (!sort_key(since, sk)) return not_found();
      std::string key = make_key(user_id, sk);
      k = as_val(key);
      rc = cur.get(k, v, MDB_SET_KEY);
      if (rc == MDB_NOTFOUND) return not_found();
      check(rc, "lmdb list");
      rc = cur.get(k, v, MDB_NEXT);  // strictly after since
    } else {
      k = as_val(prefix);
      rc = cur.get(k, v, MDB_SET_RANGE);
    }
    for (; rc == MDB_SUCCESS && has_prefix(k, prefix); rc = cur.get(k, v, MDB_NEXT)) {
      std::string_view payload;
      if (!visible(as_view(v), client_id, payload)) continue;
      if (page.notifications.size() == size || (!page.notifications.empty() && bytes + payload.size() > max_bytes)) {
        page.has_more = true;
        break;
      }
      bytes += payload.size();
      page.notifications.push_back(to_notification(k, payload));
    }
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) check(rc, "lmdb list");
    return page;
  }

  std::optional<Notification> last(const std::string& user_id, const std::string& client_id) override {
    std::string prefix = user_prefix(user_id), end = user_end(user_id);
    ReadTxn txn(env_);
    Cursor cur(txn.get(), queue_db_);
    MDB_val k = as_val(end), v;
    int rc = cur.get(k, v, MDB_SET_RANGE);
    rc = cur.get(k, v, rc == MDB_SUCCESS ? MDB_PREV : MDB_LAST);
    for (; rc == MDB_SUCCESS && has_prefix(k, prefix); rc = cur.get(k, v, MDB_PREV)) {
      std::string_view payload;
      if (visible(as_view(v), client_id, payload)) return to_notification(k, payload);
    }
    return std::nullopt;
  }

  std::optional<Notification> find(const std::string& user_id, const std::string& client_id,
                                   const std::string& id) override {
    unsigned char sk[kSortKeyBytes];
    if (!sort_key(id, sk)) return std::nullopt;
    std::string key = make_key(user_id, sk);
    ReadTxn txn(env_);
    MDB_val k = as_val(key), v;
    if (mdb_get(txn.get(), queue_db_, &k, &v) != MDB_SUCCESS) return std::nullopt;
    std::string_view payload;
    if (!visible(as_view(v), client_id, payload)) return std::nullopt;
    return to_notification(k, payload);
  }

  bool set_commit_observer(CommitObserver observer) override {
    std::lock_guard<std::mutex> lock(mu_);
    observer_ = std::move(observer);
    return true;
  }

  size_t trim_pass(int64_t now) override {
    std::lock_guard<std::mutex> lock(trim_mu_);
    return trim_locked(now).deleted;
  }

 private:
  struct Pending {
    const std::vector<Delivery>* deliveries;
    std::vector<std::string> values;  // encode_value() of each delivery
    std::vector<std::string> ids;
    std::optional<ApiError> error;
    bool done;
  };

  struct TrimResult {
    size_t deleted = 0;
    bool sweep_done = false;  // reached the end of the keys
  };

  static ApiError not_found() { return ApiError{404, "not-found", "Some notifications not found"}; }

  void open_env() {
    check(mdb_env_create(&env_), "lmdb env create");
    check(mdb_env_set_maxdbs(env_, 4), "lmdb maxdbs");
    check(mdb_env_set_maxreaders(env_, 512), "lmdb maxreaders");
    check(mdb_env_set_mapsize(env_, opt_.map_size_bytes), "lmdb mapsize");
    check(mdb_env_open(env_, opt_.dir.c_str(), MDB_NOTLS, 0600), "lmdb open " + opt_.dir);
    int dead = 0;
    mdb_reader_check(env_, &dead);
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "lmdb txn");
    int rc = mdb_dbi_open(txn, "queue", MDB_CREATE, &queue_db_);
    if (rc == MDB_SUCCESS) rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta_db_);
    if (rc == MDB_SUCCESS) {
      std::string name = "last_id";
      MDB_val k = as_val(name), v;
      if (mdb_get(txn, meta_db_, &k, &v) == MDB_SUCCESS) observe_time_uuid(as_view(v));
      rc = mdb_txn_commit(txn);
    } else {
      mdb_txn_abort(txn);
    }
    check(rc, "lmdb open databases");
  }

  void close_env() {
    if (env_) mdb_env_close(env_);
    env_ = nullptr;
    std::lock_guard<std::mutex> lock(g_open_mu);
    g_open_dirs.erase(dir_key_);
  }

  void run_committer() {
    using Clock = std::chrono::steady_clock;
    auto next_trim = Clock::now() + std::chrono::milliseconds(opt_.trim_interval_ms);
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (queue_.empty() && !stopping_)
        wake_.wait_until(lock, next_trim, [&] { return !queue_.empty() || stopping_; });
      if (!queue_.empty()) {
        std::deque<Pending*> batch;
        batch.swap(queue_);
        CommitObserver observer = observer_;
        lock.unlock();
        commit(batch, observer);
        lock.lock();
        for (Pending* p : batch) p->done = true;
        done_.notify_all();
        continue;
      }
      if (stopping_) return;
      if (Clock::now() >= next_trim) {
        lock.unlock();
        TrimResult r;
        try {
          std::lock_guard<std::mutex> trim_lock(trim_mu_);
          r = trim_locked(now_ms());
        } catch (const std::exception& e) {
          log::error("notifications", std::string("trim failed: ") + e.what());
          r.sweep_done = true;
        }
        if (r.deleted > 0) log::info("notifications", "trimmed expired notifications count=" + std::to_string(r.deleted));
        lock.lock();
        // Keep going while a sweep is unfinished (appends still go first), then rest.
        next_trim = Clock::now() + (r.sweep_done ? std::chrono::milliseconds(opt_.trim_interval_ms)
                                                 : std::chrono::milliseconds(10));
      }
    }
  }

  void commit(std::deque<Pending*>& batch, const CommitObserver& observer) {
    int rc = write_batch(batch);
    // The store is full. Refusing every append would stop all messaging until retention frees
    // space (weeks), and one busy sender could bring that about. Instead the oldest
    // notifications go early, as retention would take them: whole sweeps with a cutoff of half
    // the retention, then a quarter, ... down to pressure_min_window_ms, retrying the batch
    // after each. A client whose `since` went gets 404 from /notifications and resyncs.
    for (int64_t window = opt_.retention_ms / 2; rc == MDB_MAP_FULL && window >= opt_.pressure_min_window_ms;
         window /= 2) {
      size_t freed = 0;
      try {
        std::lock_guard<std::mutex> trim_lock(trim_mu_);
        std::string resume;
        TrimResult r;
        do {
          r = trim_before(static_cast<uint64_t>(std::max<int64_t>(0, now_ms() - window)), resume, kPressureTrimBatch);
          freed += r.deleted;
        } while (!r.sweep_done);
      } catch (const std::exception& e) {
        log::error("notifications", std::string("trim under pressure failed: ") + e.what());
        break;
      }
      if (freed == 0) continue;
      pressure_trimmed_.inc(freed);
      log::warn("notifications", "store full: deleted notifications older than " + std::to_string(window / 1000) +
                                     " s early count=" + std::to_string(freed));
      // LMDB reuses the pages a transaction freed only from the one after the next (the
      // snapshot before it stays valid until then), and only once no reader still holds an
      // older snapshot (a GET /notifications page being read): a small write between trim and
      // retry, and a few short waits for such readers, before deleting more.
      for (int attempt = 0; attempt < 5; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        mark_pressure_trim();
        rc = write_batch(batch);
        if (rc != MDB_MAP_FULL) break;
      }
    }
    if (rc != MDB_SUCCESS) {
      log::error("notifications", std::string("append failed: ") + mdb_strerror(rc));
      ApiError e = rc == MDB_MAP_FULL ? ApiError{507, "server-error", "Notification store is full"}
                                      : ApiError::internal("notification store write failed");
      for (Pending* p : batch) {
        p->ids.clear();
        p->error = e;
      }
      return;
    }
    if (observer) {
      for (Pending* p : batch) {
        try {
          observer(*p->deliveries, p->ids);
        } catch (const std::exception& e) {
          log::error("notifications", std::string("commit observer failed: ") + e.what());
        }
      }
    }
  }

  // Records when the store last trimmed under pressure (meta "pressure_trim_ms"): a write of
  // a few bytes, whose commit is what matters (see commit()). Failure is harmless.
  void mark_pressure_trim() {
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env_, nullptr, 0, &txn) != MDB_SUCCESS) return;
    std::string name = "pressure_trim_ms";
    int64_t now = now_ms();
    MDB_val k = as_val(name), v{sizeof now, &now};
    if (mdb_put(txn, meta_db_, &k, &v, 0) == MDB_SUCCESS) mdb_txn_commit(txn);
    else mdb_txn_abort(txn);
  }

  // Writes every queued batch in one transaction and commits it; the LMDB status.
  int write_batch(std::deque<Pending*>& batch) {
    for (Pending* p : batch) p->ids.clear();
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    std::string last_id;
    std::unordered_map<std::string, uint64_t> appended;  // user → notifications added in this txn
    for (Pending* p : batch) {
      for (size_t i = 0; i < p->deliveries->size(); ++i) {
        if (rc != MDB_SUCCESS) break;
        ++appended[(*p->deliveries)[i].user_id];
        std::string id = new_time_uuid();
        unsigned char sk[kSortKeyBytes];
        sort_key(id, sk);
        std::string key = make_key((*p->deliveries)[i].user_id, sk);
        MDB_val k = as_val(key), v = as_val(p->values[i]);
        rc = mdb_put(txn, queue_db_, &k, &v, 0);
        p->ids.push_back(id);
        last_id = std::move(id);
      }
    }
    if (rc == MDB_SUCCESS) {
      std::string name = "last_id";
      MDB_val k = as_val(name), v = as_val(last_id);
      rc = mdb_put(txn, meta_db_, &k, &v, 0);
    }
    for (auto it = appended.begin(); rc == MDB_SUCCESS && it != appended.end(); ++it)
      rc = enforce_cap(txn, it->first, it->second);
    if (rc == MDB_SUCCESS) {
      rc = mdb_txn_commit(txn);  // durable (fsync) when this returns
    } else if (txn) {
      mdb_txn_abort(txn);
    }
    return rc;
  }

  static std::string count_key(const std::string& user_id) {
    std::string k("n\0", 2);
    return k + user_id;
  }

  // The user's notification count as of txn, counting the queue once if it has no count yet.
  uint64_t load_count(MDB_txn* txn, const std::string& user_id, bool& counted) {
    std::string key = count_key(user_id);
    MDB_val k = as_val(key), v;
    counted = false;
    if (mdb_get(txn, meta_db_, &k, &v) == MDB_SUCCESS && v.mv_size == sizeof(uint64_t)) {
      uint64_t n;
      std::memcpy(&n, v.mv_data, sizeof n);
      return n;
    }
    counted = true;
    uint64_t n = 0;
    std::string prefix = user_prefix(user_id);
    Cursor cur(txn, queue_db_);
    MDB_val ck = as_val(prefix), cv;
    for (int rc = cur.get(ck, cv, MDB_SET_RANGE); rc == MDB_SUCCESS && has_prefix(ck, prefix);
         rc = cur.get(ck, cv, MDB_NEXT))
      ++n;
    return n;
  }

  int store_count(MDB_txn* txn, const std::string& user_id, uint64_t n) {
    std::string key = count_key(user_id);
    MDB_val k = as_val(key);
    if (n == 0) {
      int rc = mdb_del(txn, meta_db_, &k, nullptr);
      return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
    }
    MDB_val v{sizeof n, &n};
    return mdb_put(txn, meta_db_, &k, &v, 0);
  }

  // After `added` appends for user_id in txn: updates the count and deletes the user's oldest
  // notifications beyond max_per_user.
  int enforce_cap(MDB_txn* txn, const std::string& user_id, uint64_t added) {
    bool counted = false;
    uint64_t n = load_count(txn, user_id, counted);
    if (!counted) n += added;  // a fresh count already includes this txn's appends
    if (n > opt_.max_per_user) {
      uint64_t excess = n - opt_.max_per_user;
      std::string prefix = user_prefix(user_id);
      Cursor cur(txn, queue_db_);
      MDB_val k = as_val(prefix), v;
      int rc = cur.get(k, v, MDB_SET_RANGE);
      uint64_t deleted = 0;
      for (; deleted < excess && rc == MDB_SUCCESS && has_prefix(k, prefix); ++deleted) {
        rc = mdb_cursor_del(cur.raw(), 0);
        if (rc != MDB_SUCCESS) return rc;
        k = as_val(prefix);
        rc = cur.get(k, v, MDB_SET_RANGE);  // the user's new oldest
      }
      if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return rc;
      n -= deleted;
      cap_trimmed_.inc(deleted);
    }
    return store_count(txn, user_id, n);
  }

  // Walks at most trim_batch keys from where the last pass stopped: deletes the expired head of
  // each user's queue (ids are time-ordered, so the first live one ends that user) and jumps to
  // the next user.
  TrimResult trim_locked(int64_t now) {
    return trim_before(static_cast<uint64_t>(std::max<int64_t>(0, now - opt_.retention_ms)), trim_resume_,
                       opt_.trim_batch);
  }

  // One pass of at most `batch` keys from `resume` (updated; empty = from the start) deleting
  // notifications older than cutoff_ms. Under trim_mu_.
  TrimResult trim_before(uint64_t cutoff_ms, std::string& resume, size_t batch) {
    TrimResult r;
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "lmdb trim txn");
    try {
      Cursor cur(txn, queue_db_);
      MDB_val k, v;
      int rc;
      if (resume.empty()) {
        rc = cur.get(k, v, MDB_FIRST);
      } else {
        k = as_val(resume);
        rc = cur.get(k, v, MDB_SET_RANGE);
      }
      size_t steps = 0;
      std::string key;
      std::unordered_map<std::string, uint64_t> removed;  // user → expired notifications deleted
      while (rc == MDB_SUCCESS && steps < batch) {
        ++steps;
        key.assign(static_cast<const char*>(k.mv_data), k.mv_size);
        size_t nul = key.find('\0');
        bool valid = nul != std::string::npos && key.size() == nul + 1 + kSortKeyBytes;
        if (valid && static_cast<uint64_t>(time_uuid_ticks_to_ms(ticks_of_sort_key(
                         reinterpret_cast<const unsigned char*>(key.data()) + nul + 1))) < cutoff_ms) {
          check(mdb_cursor_del(cur.raw(), 0), "lmdb trim delete");
          ++r.deleted;
          ++removed[key.substr(0, nul)];
          k = as_val(key);
          rc = cur.get(k, v, MDB_SET_RANGE);  // the key after the deleted one
        } else {
          std::string next = valid ? user_end(key.substr(0, nul)) : key + '\0';
          k = as_val(next);
          rc = cur.get(k, v, MDB_SET_RANGE);
        }
      }
      if (rc == MDB_NOTFOUND) {
        resume.clear();
        r.sweep_done = true;
      } else {
        check(rc, "lmdb trim");
        resume.assign(static_cast<const char*>(k.mv_data), k.mv_size);
      }
      for (const auto& [user, gone] : removed) {
        bool counted = false;
        uint64_t n = load_count(txn, user, counted);  // a fresh count is already net of the deletes
        check(store_count(txn, user, counted ? n : n - std::min(n, gone)), "lmdb trim count");
      }
    } catch (...) {
      mdb_txn_abort(txn);
      throw;
    }
    check(mdb_txn_commit(txn), "lmdb trim commit");
    return r;
  }

  LmdbStoreOptions opt_;
  std::string dir_key_;
  MDB_env* env_ = nullptr;
  MDB_dbi queue_db_ = 0;
  MDB_dbi meta_db_ = 0;

  std::mutex mu_;
  std::condition_variable wake_;  // committer: work queued or stopping
  std::condition_variable done_;  // appenders: their batch is committed
  std::deque<Pending*> queue_;
  CommitObserver observer_;
  bool stopping_ = false;

  std::mutex trim_mu_;
  std::string trim_resume_;  // first key of the next trim pass; empty = from the start

  http::Counter& pressure_trimmed_ = http::Metrics::instance().counter(
      "wirebox_notifications_pressure_trimmed_total",
      "Notifications deleted before their retention because the store was full");
  http::Counter& cap_trimmed_ = http::Metrics::instance().counter(
      "wirebox_notifications_cap_trimmed_total", "Notifications deleted because a user's queue exceeded max_per_user");

  std::thread committer_;
};

}  // namespace

std::unique_ptr<LmdbNotificationStore> make_lmdb_notification_store(const LmdbStoreOptions& options) {
  return std::make_unique<LmdbStore>(options);
}

}  // namespace wirebox::notifications
