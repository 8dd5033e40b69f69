// CookieStore: the auth module's tables — long-lived `zuid` login cookies, stored only as a
// SHA-256 hash of the cookie value so a database leak yields no usable cookie.
// Implementations are thread-safe; every mutating call is committed when it returns.
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

namespace wirebox::auth {

struct CookieRecord {
  std::string user_id;
  int64_t created_at = 0;  // Unix seconds
  int64_t expires_at = 0;
  bool persistent = false;
  std::string label;
  std::string client_id;  // bound by POST /access?client_id=
  std::string successor;  // hash of the cookie this one was rotated into, empty if none
};

class CookieStore {
 public:
  virtual ~CookieStore() = default;
  virtual Status insert(const std::string& hash, const CookieRecord& record) = 0;
  virtual std::optional<CookieRecord> find(const std::string& hash) = 0;
  virtual Status bind_client(const std::string& hash, const std::string& client_id) = 0;
  // Removes the cookie and its whole rotation chain: the successors issued when it was rotated
  // and the cookies it was rotated from (a browser logs out with the newest one, and the older
  // ones stay valid until they expire otherwise).
  virtual Status remove(const std::string& hash) = 0;
  virtual Status remove_user(const std::string& user_id) = 0;
  // Removes the user's cookies bound to the client (POST /access?client_id=) or carrying the
  // client's cookie label: what a deleted device logged in with.
  virtual Status remove_client(const std::string& user_id, const std::string& client_id, const std::string& label) = 0;
  // Inserts the successor and links it from the old cookie (which stays valid until it expires,
  // because the Node client ignores Set-Cookie on /access and keeps sending the old one).
  virtual Status rotate(const std::string& old_hash, const std::string& new_hash, const CookieRecord& record) = 0;
  virtual Status remove_expired(int64_t now_seconds) = 0;
};

storage::ModuleSchema cookie_schema();
std::unique_ptr<CookieStore> make_sqlite_cookie_store(storage::Database& db);

}  // namespace wirebox::auth
