#include "notifications/event_publisher.h"

#include "notifications/time_uuid.h"

namespace wirebox::notifications {

Status EventPublisher::publish(const std::vector<Delivery>& deliveries, bool transient) {
  if (deliveries.empty()) return {};
  std::vector<std::string> ids;
  if (transient) {
    for (size_t i = 0; i < deliveries.size(); ++i) ids.push_back(new_time_uuid());
  } else {
    auto stored = store_.append(deliveries);
    if (!stored) return stored.error();
    ids = std::move(stored.value());
  }
  if (sink_)
    for (size_t i = 0; i < deliveries.size(); ++i) sink_->push(deliveries[i], ids[i], transient);
  return {};
}

}  // namespace wirebox::notifications
