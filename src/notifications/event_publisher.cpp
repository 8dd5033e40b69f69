#include "notifications/event_publisher.h"

#include "notifications/time_uuid.h"

namespace wirebox::notifications {

EventPublisher::EventPublisher(NotificationStore& store, PushSink* sink) : store_(store), sink_(sink) {
  ordered_ = store_.set_commit_observer([this](const std::vector<Delivery>& deliveries,
                                               const std::vector<std::string>& ids) {
    if (PushSink* s = sink_.load())
      for (size_t i = 0; i < deliveries.size() && i < ids.size(); ++i) s->push(deliveries[i], ids[i], false);
  });
}

EventPublisher::~EventPublisher() {
  if (ordered_) store_.set_commit_observer(nullptr);
}

Status EventPublisher::publish(const std::vector<Delivery>& deliveries, bool transient) {
  if (deliveries.empty()) return {};
  std::vector<std::string> ids;
  if (transient) {
    for (size_t i = 0; i < deliveries.size(); ++i) ids.push_back(new_time_uuid());
  } else {
    auto stored = store_.append(deliveries);
    if (!stored) return stored.error();
    if (ordered_) return {};  // already pushed by the commit observer
    ids = std::move(stored.value());
  }
  if (PushSink* s = sink_.load())
    for (size_t i = 0; i < deliveries.size(); ++i) s->push(deliveries[i], ids[i], transient);
  return {};
}

}  // namespace wirebox::notifications
