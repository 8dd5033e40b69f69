// Daemon: wires the modules together for one wireboxd process — data directory, database
// and migrations, secrets, TLS, routes — and runs the server until stop(). Also used by tests
// to run a real daemon in-process on an ephemeral port.
#pragma once

#include <functional>
#include <memory>

#include "core/config.h"

namespace wirebox {

class Daemon {
 public:
  explicit Daemon(Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Prepares state and starts listening. Throws std::runtime_error with a clear reason.
  void start();
  void stop();
  // What the admin command daemon.stop does (wireboxd: raise SIGTERM); set before start().
  // Unset, the command is refused.
  void on_stop_request(std::function<void()> request);
  uint16_t port() const;
  uint16_t metrics_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wirebox
