// Readiness and state reports to systemd for Type=notify services (the sd_notify(3)
// protocol): one datagram of "KEY=VALUE" lines to the AF_UNIX socket named in $NOTIFY_SOCKET
// ("@name" = abstract namespace). libsystemd's sd_notify() does the same; these few lines
// save the build dependency.
#pragma once

#include <string_view>

namespace wirebox {

// Sends `state` (e.g. "READY=1\nSTATUS=serving") if $NOTIFY_SOCKET is set. Returns false only
// when the socket is set but the message could not be delivered; without it (not started by
// systemd) it does nothing and returns true.
bool notify_service_manager(std::string_view state);

}  // namespace wirebox
