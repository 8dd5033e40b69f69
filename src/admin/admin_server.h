// The admin socket: a local Unix stream socket (never on the network) wirectl talks to.
//
// Protocol — line-delimited JSON, one request then one response, repeated on one connection:
//   request:  {"command":"user.create","args":{...}}\n            (at most 64 KiB per line)
//   response: {"ok":true,"result":{...}}\n
//          or {"ok":false,"error":{"code":404,"label":"not-found","message":"..."}}\n
// The error object is Wire-shaped (ApiError); `code` follows HTTP status semantics (4xx: the
// request was refused, 5xx: the daemon failed). A response may announce a binary body:
// "result" then holds "stream_bytes": N and "stream_sha256": hex, and exactly N raw bytes follow
// the line (backup.create sends the archive this way, so the file is written by wirectl, not by
// the daemon's user). The commands are listed in admin_service.h.
//
// Access: the socket file is created mode 0660, so only its owner (the daemon's user), its group
// (the `wirebox` group under the packaged unit) and root can connect; its directory must let
// them through too. A stale socket file is replaced at start (the caller holds DataDirLock).
//
// Threads: accepting, reading and writing run on one of the daemon's I/O loops (no thread per
// connection); every request's handler runs on the daemon's blocking worker pool, and so does
// reading a streamed body from disk. At most kMaxConnections connections at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/api_error.h"

namespace boost::asio {
class io_context;
}

namespace wirebox::admin {

constexpr size_t kMaxRequestBytes = 64 * 1024;
constexpr size_t kMaxConnections = 16;

struct AdminReply {
  nlohmann::json line;       // the response object
  std::string stream_file;   // if set: sent after the line, then deleted
  std::function<void()> after_sent;  // runs (on the pool) once the whole reply was written
};

// ok / error response objects.
nlohmann::json ok_line(nlohmann::json result);
nlohmann::json error_line(const ApiError& error);

class AdminServer {
 public:
  using Handler = std::function<AdminReply(const std::string& command, const nlohmann::json& args)>;
  using PostBlocking = std::function<void(std::function<void()>)>;

  AdminServer(std::string socket_path, boost::asio::io_context& loop, PostBlocking post_blocking, Handler handler);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens (0660); the error names the path and the reason.
  Status start();
  // Stops accepting and removes the socket file; connections end with the loops.
  void stop();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace wirebox::admin
