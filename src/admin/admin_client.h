// AdminClient: wirectl's side of the admin socket protocol (admin_server.h). Blocking, one
// request at a time, every wait bounded by a timeout. Not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/api_error.h"

namespace wirebox::admin {

class AdminClient {
 public:
  AdminClient();
  ~AdminClient();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  // 503 daemon-unreachable: no socket, refused, or permission denied (the message says which).
  Status connect(const std::string& socket_path, std::chrono::milliseconds timeout);

  // The "result" of an ok response, or the response's error. Transport failures and timeouts
  // are 503 daemon-unreachable.
  Result<nlohmann::json> call(const std::string& command, const nlohmann::json& args,
                              std::chrono::milliseconds timeout);

  // For a response with a streamed body: writes the body to `sink` (which returns false to
  // abort) and checks its length and SHA-256 against the announcement.
  Result<nlohmann::json> call_streaming(const std::string& command, const nlohmann::json& args,
                                        const std::function<bool(const char*, size_t)>& sink,
                                        std::chrono::milliseconds timeout);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace wirebox::admin
