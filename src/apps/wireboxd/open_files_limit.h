// raise_open_files_limit: lifts the process's soft limit on open files to its hard limit.
//
// Every client connection is a descriptor (an upload three: socket, temporary file, the
// writer's O_DIRECT duplicate), and a shell's default soft limit (1024) is far below
// http.max_connections (10000); the hard limit is usually much higher (systemd's unit sets
// both to 65536 itself). Running out is survivable (listeners pause, see core/accept_pause.h)
// but refuses clients the box could serve. Returns the soft limit in force afterwards.
#pragma once

#include <cstdint>

namespace wirebox {

uint64_t raise_open_files_limit();

}  // namespace wirebox
