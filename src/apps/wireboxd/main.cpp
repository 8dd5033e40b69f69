// wireboxd: the wirebox daemon. Parses flags, loads the layered configuration, runs the daemon
// until SIGTERM/SIGINT, then shuts down cleanly (listeners closed, in-flight commits finished).
// SIGHUP re-reads the TLS certificates (new handshakes use them). Under systemd (Type=notify)
// it reports READY=1 once listening, RELOADING=1/READY=1 around a reload and STOPPING=1.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/wireboxd/daemon.h"
#include "apps/wireboxd/glibc_tunables.h"
#include "apps/wireboxd/open_files_limit.h"
#include "apps/wireboxd/service_manager.h"
#include "core/config.h"
#include "core/log.h"
#include "http/tls.h"

int main(int argc, char** argv) {
  wirebox::reexec_with_fast_memcpy(argv);
  CLI::App app{"wireboxd — the wirebox messaging backend (Wire-compatible) in one daemon"};
  std::optional<std::string> config_file;
  std::map<std::string, std::string> overrides;
  std::vector<std::string> sets;
  auto flag = [&](const char* name, const char* key, const char* help) {
    app.add_option_function<std::string>(name, [&overrides, key](const std::string& v) { overrides[key] = v; }, help);
  };
  app.add_option("--config", config_file, "INI configuration file (see docs/configuration.md)");
  flag("--data-dir", "server.data_dir", "Directory for all state (default ./wirebox-data)");
  flag("--domain", "server.domain", "Backend domain (default wirebox.localhost)");
  flag("--listen", "http.listen", "HTTPS listener ADDR:PORT (default 127.0.0.1:8443)");
  flag("--cert", "http.cert", "PEM certificate chain (default: self-signed in the data dir)");
  flag("--key", "http.key", "PEM private key");
  flag("--metrics-listen", "metrics.listen", "Prometheus listener ADDR:PORT (default off)");
  flag("--registration", "auth.registration", "open | closed");
  flag("--log-level", "server.log_level", "debug | info | warning | error");
  app.add_flag_callback("--turn-allow-loopback-peers", [&overrides] { overrides["turn.allow_loopback_peers"] = "true"; },
                        "Let TURN relay to loopback peers (tests on one host only)");
  app.add_option("--set", sets, "Override any key: --set section.key=value (repeatable)");
  bool check_only = false;
  app.add_flag("--check-config", check_only, "Validate the configuration and exit");
  CLI11_PARSE(app, argc, argv);
  for (const auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos) {
      std::cerr << "wireboxd: --set expects section.key=value, got '" << s << "'\n";
      return 2;
    }
    overrides[s.substr(0, eq)] = s.substr(eq + 1);
  }

  auto config = wirebox::load_config(config_file, overrides);
  if (!config) {
    std::cerr << "wireboxd: " << config.error().message << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << "configuration ok\n";
    return 0;
  }
  wirebox::log::Level level = wirebox::log::Level::kInfo;
  wirebox::log::parse_level(config->log_level, level);
  wirebox::log::init(level);
  uint64_t open_files = wirebox::raise_open_files_limit();
  if (open_files < config->max_connections + 256)
    wirebox::log::warn("wireboxd", "the open files limit (" + std::to_string(open_files) +
                                       ") is below http.max_connections + 256: raise it (ulimit -n, LimitNOFILE=) "
                                       "or lower http.max_connections");

  // Block the handled signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::string listen_address = config->listen_address;
  wirebox::Daemon daemon(std::move(config.value()));
  daemon.on_stop_request([] { kill(getpid(), SIGTERM); });
  try {
    daemon.start();
  } catch (const std::exception& e) {
    wirebox::log::error("wireboxd", std::string("cannot start: ") + e.what());
    return 1;
  }
  auto notify = [](const std::string& state) {
    if (!wirebox::notify_service_manager(state))
      wirebox::log::warn("wireboxd", "cannot notify the service manager at $NOTIFY_SOCKET");
  };
  notify("READY=1\nSTATUS=serving https on " + listen_address + ":" + std::to_string(daemon.port()));
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    notify("RELOADING=1");
    auto reloaded = wirebox::http::reload_certificates();
    if (reloaded)
      wirebox::log::info("wireboxd", "reloaded certificates contexts=" + std::to_string(*reloaded));
    else
      wirebox::log::error("wireboxd", "certificate reload failed: " + reloaded.error().message);
    notify("READY=1");
  }
  notify("STOPPING=1");
  wirebox::log::info("wireboxd", std::string("stopping signal=") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
  daemon.stop();
  wirebox::log::info("wireboxd", "stopped");
  return 0;
}
