// Version-1 (time-based) UUIDs for notification ids: the official client stores the last id
// it processed and sends it back as `since`, and wire-server's ids are TimeUUIDs. Ids from one
// process are strictly increasing in time order. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wirebox::notifications {

std::string new_time_uuid();
std::string time_uuid_at(int64_t epoch_ms, uint16_t sequence);  // deterministic (tests)

// The 60-bit timestamp (100 ns ticks since 1582-10-15) of a version-1 UUID; nullopt for
// anything else.
std::optional<uint64_t> time_uuid_ticks(std::string_view id);
// Unix epoch milliseconds of a timestamp from time_uuid_ticks().
int64_t time_uuid_ticks_to_ms(uint64_t ticks);
// Makes every later new_time_uuid() sort after `id` (a persisted id from before a restart,
// when the wall clock may have gone back). Ignores ids that are not version 1.
void observe_time_uuid(std::string_view id);

}  // namespace wirebox::notifications
