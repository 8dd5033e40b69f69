// EventPublisher: how every module emits events to users' clients. publish() persists the
// deliveries in the notification queue (all in one commit) and only then hands them to the
// live-push sink (the WebSocket hub); when it returns OK the events are durable, so the HTTP
// call that caused them may answer 2xx. Transient deliveries (typing, transient messages) are
// pushed only, never stored. Thread-safe; blocking (disk): call from the worker pool.
// When the store supports a commit observer, stored deliveries are pushed from the store's
// committing thread in commit (= id) order, so every socket sees ids in increasing order even
// when several threads publish at once.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "notifications/notification_store.h"

namespace wirebox::notifications {

// Receives notifications for live delivery to open sockets. Must not block.
class PushSink {
 public:
  virtual ~PushSink() = default;
  virtual void push(const Delivery& delivery, const std::string& notification_id, bool transient) = 0;
};

class EventPublisher {
 public:
  // sink may be null (no live delivery); it can be attached later with set_sink() before serving.
  explicit EventPublisher(NotificationStore& store, PushSink* sink = nullptr);
  ~EventPublisher();
  EventPublisher(const EventPublisher&) = delete;
  EventPublisher& operator=(const EventPublisher&) = delete;
  void set_sink(PushSink* sink) { sink_.store(sink); }

  Status publish(const std::vector<Delivery>& deliveries, bool transient = false);
  Status publish_one(Delivery delivery, bool transient = false) {
    return publish(std::vector<Delivery>{std::move(delivery)}, transient);
  }

 private:
  NotificationStore& store_;
  std::atomic<PushSink*> sink_;
  bool ordered_ = false;  // the store pushes through our commit observer
};

}  // namespace wirebox::notifications
