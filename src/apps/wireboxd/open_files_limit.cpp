#include "apps/wireboxd/open_files_limit.h"

#include <sys/resource.h>

#include <cstdio>

namespace wirebox {

uint64_t raise_open_files_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    // An unlimited hard limit cannot be the soft one (the kernel caps it at fs.nr_open).
    if (raised.rlim_cur == RLIM_INFINITY) {
      raised.rlim_cur = 1 << 20;
      if (FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
        unsigned long long nr_open = 0;
        if (std::fscanf(f, "%llu", &nr_open) == 1 && nr_open > 0) raised.rlim_cur = nr_open;
        std::fclose(f);
      }
    }
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  return lim.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(lim.rlim_cur);
}

}  // namespace wirebox
