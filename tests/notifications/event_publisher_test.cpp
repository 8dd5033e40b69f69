#include <catch2/catch.hpp>

#include <mutex>

#include "notifications/event_publisher.h"
#include "support/temp_dir.h"

using namespace wirebox;
using namespace wirebox::notifications;

namespace {

struct RecordingSink : PushSink {
  std::mutex mu;
  std::vector<std::pair<std::string, bool>> pushed;  // id, transient
  void push(const Delivery&, const std::string& id, bool transient) override {
    std::lock_guard<std::mutex> lock(mu);
    pushed.emplace_back(id, transient);
  }
};

}  // namespace

TEST_CASE("event publisher: persists then pushes once, transient not stored") {
  test::TempDir dir;
  LmdbStoreOptions o;
  o.dir = dir.path() + "/events";
  o.map_size_bytes = size_t{16} << 20;
  auto store = make_lmdb_notification_store(o);
  RecordingSink sink;
  EventPublisher publisher(*store, &sink);
  const std::string user = "00000000-0000-4000-8000-00000000000a";
  REQUIRE(publisher.publish_one({user, {}, nlohmann::json::array({{{"type", "a"}}})}));
  REQUIRE(publisher.publish_one({user, {}, nlohmann::json::array({{{"type", "t"}}})}, true));
  auto page = store->list(user, "c", "", 100);
  REQUIRE(page->notifications.size() == 1);
  REQUIRE(sink.pushed.size() == 2);
  CHECK(sink.pushed[0].first == page->notifications[0].id);
  CHECK_FALSE(sink.pushed[0].second);
  CHECK(sink.pushed[1].second);
}
