#include "apps/wireboxd/glibc_tunables.h"

#include <climits>
#include <cstdlib>
#include <cstring>

#include <sys/auxv.h>
#include <unistd.h>

namespace wirebox {
namespace {

constexpr const char* kThresholdKey = "glibc.cpu.x86_rep_movsb_threshold";
// Above any copy we make (and above glibc's non-temporal threshold, where large copies take
// their own path anyway): in effect, never `rep movsb`.
constexpr const char* kThresholdValue = "0x4000000000";
constexpr const char* kReexecutedMark = "WIREBOXD_REEXECUTED";

}  // namespace

std::optional<std::string> tunables_without_rep_movsb(const char* current) {
  std::string setting = std::string(kThresholdKey) + "=" + kThresholdValue;
  if (!current || !*current) return setting;
  if (std::strstr(current, kThresholdKey)) return std::nullopt;
  return std::string(current) + ":" + setting;
}

void reexec_with_fast_memcpy(char** argv) {
#if defined(__x86_64__) && defined(__GLIBC__)
  // Never twice: set for the second image, which drops it. Glibc may have removed our tunable
  // on the way (it erases tunables for set-id or file-capability binaries, AT_SECURE), and
  // without this mark the check below would exec again and again.
  if (std::getenv(kReexecutedMark)) {
    ::unsetenv(kReexecutedMark);
    return;
  }
  if (::getauxval(AT_SECURE)) return;  // glibc ignores GLIBC_TUNABLES there anyway
  // Started through the loader (ld.so wireboxd ...): /proc/self/exe is ld.so, and re-executing
  // it with our argv would run argv[1] as the program.
  if (::getauxval(AT_BASE) == 0) return;
  const char* current = std::getenv("GLIBC_TUNABLES");
  auto wanted = tunables_without_rep_movsb(current);
  if (!wanted) return;
  // The binary's own path, not /proc/self/exe: the process is named after the file it execs,
  // and pgrep, ps and systemd should keep seeing "wireboxd", not "exe".
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return;
  path[n] = '\0';
  std::optional<std::string> previous;
  if (current) previous = current;
  if (::setenv("GLIBC_TUNABLES", wanted->c_str(), 1) != 0) return;
  ::setenv(kReexecutedMark, "1", 1);
  ::execv(path, argv);
  // No exec (the file was replaced meanwhile, say): carry on as we are, with the environment
  // as it was.
  ::unsetenv(kReexecutedMark);
  if (previous) ::setenv("GLIBC_TUNABLES", previous->c_str(), 1);
  else ::unsetenv("GLIBC_TUNABLES");
#else
  (void)argv;
#endif
}

}  // namespace wirebox
