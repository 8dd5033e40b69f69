// wireboxd as systemd runs it (Type=notify): the real binary in a child process with
// $NOTIFY_SOCKET pointing at a datagram socket of this test. READY=1 arrives only once the
// HTTPS listener answers; SIGHUP re-reads the certificate files (RELOADING=1, READY=1) and
// new handshakes present the new certificate; SIGTERM reports STOPPING=1 and exits 0.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "apps/wireboxd/service_manager.h"
#include "http/tls.h"
#include "support/peer_certificate.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"

using namespace wirebox;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path_.size() < sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~NotifySocket() { close(fd_); }
  const std::string& path() const { return path_; }

  // The next datagram, or nullopt after timeout_ms.
  std::optional<std::string> receive(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return std::nullopt;
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// Waits (bounded) for the child to exit; its exit status, or -1 on timeout.
int wait_exit(pid_t pid, int timeout_ms) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  REQUIRE(pidfd >= 0);
  pollfd p{pidfd, POLLIN, 0};
  int ready = poll(&p, 1, timeout_ms);
  close(pidfd);
  if (ready != 1) return -1;
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The process's environment as its NUL-separated entries.
std::vector<std::string> environment_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  std::vector<std::string> entries;
  for (std::string entry; std::getline(in, entry, '\0');) entries.push_back(entry);
  return entries;
}

void copy_over(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace

TEST_CASE("wireboxd notifies readiness, reloads certificates on SIGHUP and stops on SIGTERM", "[service]") {
  test::TempDir dir;
  auto a = http::ensure_self_signed(dir.file("a"), {"a.example.com", "127.0.0.1"});
  auto b = http::ensure_self_signed(dir.file("b"), {"b.example.com", "127.0.0.1"});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
  copy_over(a->cert_file, cert);
  copy_over(a->key_file, key);
  NotifySocket notify(dir.file("notify"));

  std::vector<std::string> args = {WIREBOXD_PATH, "--data-dir", dir.file("data"), "--listen", "127.0.0.1:0",
                                   "--cert", cert, "--key", key, "--set", "turn.enabled=false",
                                   "--set", "http.loops=1", "--set", "http.workers=1"};
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::string notify_env = "NOTIFY_SOCKET=" + notify.path();
  std::vector<char*> envp = {notify_env.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, dir.file("wireboxd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, WIREBOXD_PATH, &actions, nullptr, argv.data(), envp.data()) == 0);
  posix_spawn_file_actions_destroy(&actions);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (kill(pid, 0) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{pid};

  auto ready = notify.receive(20000);
  REQUIRE(ready);
  CHECK_THAT(*ready, StartsWith("READY=1\n"));
  auto at = ready->find("STATUS=serving https on 127.0.0.1:");
  REQUIRE(at != std::string::npos);
  auto port = static_cast<uint16_t>(std::stoi(ready->substr(at + std::strlen("STATUS=serving https on 127.0.0.1:"))));
  // Ready means listening: the first request right after the notification is answered.
  test::HttpsClient client(port);
  CHECK(client.get("/healthz").status == 200);
  CHECK(test::presented_common_name(port) == "a.example.com");
#if defined(__x86_64__) && defined(__GLIBC__)
  // It re-executed itself (same pid, so systemd still tracks it) with glibc's rep movsb
  // threshold raised, keeping the environment it was given.
  auto env = environment_of(pid);
  CHECK_THAT(env, Catch::Matchers::VectorContains(std::string("GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=0x4000000000")));
  CHECK_THAT(env, Catch::Matchers::VectorContains(notify_env));
  // ... and under its own name, which pgrep and systemd show.
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  CHECK(name == "wireboxd");
#endif

  copy_over(b->cert_file, cert);
  copy_over(b->key_file, key);
  REQUIRE(kill(pid, SIGHUP) == 0);
  CHECK(notify.receive(10000) == std::optional<std::string>("RELOADING=1"));
  CHECK(notify.receive(10000) == std::optional<std::string>("READY=1"));
  CHECK(test::presented_common_name(port) == "b.example.com");
  CHECK(client.get("/healthz").status == 200);  // the connection from before the reload still works

  REQUIRE(kill(pid, SIGTERM) == 0);
  CHECK(notify.receive(10000) == std::optional<std::string>("STOPPING=1"));
  CHECK(wait_exit(pid, 20000) == 0);
}

TEST_CASE("notify_service_manager speaks the NOTIFY_SOCKET datagram protocol", "[service]") {
  test::TempDir dir;
  unsetenv("NOTIFY_SOCKET");
  CHECK(notify_service_manager("READY=1"));  // not under systemd: nothing to do, no error

  NotifySocket notify(dir.file("notify"));
  setenv("NOTIFY_SOCKET", notify.path().c_str(), 1);
  CHECK(notify_service_manager("READY=1\nSTATUS=x"));
  CHECK(notify.receive(5000) == std::optional<std::string>("READY=1\nSTATUS=x"));

  setenv("NOTIFY_SOCKET", dir.file("nobody-listens").c_str(), 1);
  CHECK_FALSE(notify_service_manager("READY=1"));
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  CHECK_FALSE(notify_service_manager("READY=1"));
  unsetenv("NOTIFY_SOCKET");
}

TEST_CASE("notify_service_manager reaches an abstract-namespace socket", "[service]") {
  std::string name = "wirebox-notify-test-" + std::to_string(getpid());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // leading NUL: abstract
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr),
               static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())) == 0);
  setenv("NOTIFY_SOCKET", ("@" + name).c_str(), 1);
  CHECK(notify_service_manager("STOPPING=1"));
  unsetenv("NOTIFY_SOCKET");
  pollfd p{fd, POLLIN, 0};
  REQUIRE(poll(&p, 1, 5000) == 1);
  char buf[64];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  close(fd);
  CHECK(std::string(buf, static_cast<size_t>(n > 0 ? n : 0)) == "STOPPING=1");
}
