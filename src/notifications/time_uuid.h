// Version-1 (time-based) UUIDs for notification ids: the official client stores the last id
// it processed and sends it back as `since`, and wire-server's ids are TimeUUIDs. Ids from one
// process are strictly increasing in time order. Thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace wirebox::notifications {

std::string new_time_uuid();
std::string time_uuid_at(int64_t epoch_ms, uint16_t sequence);  // deterministic (tests)

}  // namespace wirebox::notifications
