// wireboxd re-executes itself once at start-up with GLIBC_TUNABLES set so that glibc's memcpy
// never takes its `rep movsb` path.
//
// Why: with Debian 12's glibc (2.36; glibc bug 30994), `rep movsb` on AMD Zen 3/4 copies at
// ~3 GB/s instead of ~85 GB/s when the destination lies 1-31 bytes past the source modulo
// 4 KiB. OpenSSL's SSL_write copies every record's plaintext into its write buffer 8 bytes into
// a heap block, and our download buffers are heap blocks too: where the two happen to land
// decided whether a download cost 1.3 or 2.9 CPU seconds per GiB (perf: memcpy 21 % of the
// server's CPU in the slow runs, 5 % with the tunable). Glibc reads tunables only when a
// process starts, hence the exec; it keeps the pid, arguments and the rest of the environment
// (systemd's NOTIFY_SOCKET included). An operator's own GLIBC_TUNABLES is kept, and one that
// already sets the threshold is left alone. Skipped for set-id or file-capability binaries
// (glibc ignores the variable there) and when started through ld.so; never done twice.
#pragma once

#include <optional>
#include <string>

namespace wirebox {

// The GLIBC_TUNABLES value to run with, given the current one (nullptr: unset), or nullopt if
// the current one already sets glibc.cpu.x86_rep_movsb_threshold.
std::optional<std::string> tunables_without_rep_movsb(const char* current);

// On x86-64 glibc: re-executes this binary (its path from /proc/self/exe, same argv and
// process name) with those tunables
// when they are not in effect yet. Returns when nothing needs doing, on other platforms, or if
// the exec fails (the daemon then runs with glibc's defaults). Call first thing in main().
void reexec_with_fast_memcpy(char** argv);

}  // namespace wirebox
