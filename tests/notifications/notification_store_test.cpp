#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "core/time.h"
#include "notifications/notification_store.h"
#include "notifications/time_uuid.h"
#include "support/temp_dir.h"

using namespace wirebox;
using namespace wirebox::notifications;

namespace {

const std::string kAlice = "00000000-0000-4000-8000-00000000000a";
const std::string kBob = "00000000-0000-4000-8000-00000000000b";

LmdbStoreOptions options(const test::TempDir& dir) {
  LmdbStoreOptions o;
  o.dir = dir.path() + "/events";
  o.map_size_bytes = size_t{64} << 20;
  return o;
}

Delivery event(const std::string& user, int n, std::vector<std::string> clients = {}) {
  return Delivery{user, std::move(clients), nlohmann::json::array({{{"type", "test"}, {"n", n}}})};
}

std::vector<int> numbers(const Page& p) {
  std::vector<int> out;
  for (const auto& n : p.notifications) out.push_back(n.payload[0]["n"].get<int>());
  return out;
}

}  // namespace

TEST_CASE("time uuid ticks round trip and ordering") {
  auto a = new_time_uuid(), b = new_time_uuid();
  REQUIRE(time_uuid_ticks(a));
  REQUIRE(*time_uuid_ticks(b) > *time_uuid_ticks(a));
  CHECK(std::abs(time_uuid_ticks_to_ms(*time_uuid_ticks(a)) - now_ms()) < 60000);
  CHECK_FALSE(time_uuid_ticks("00000000-0000-4000-8000-000000000000"));  // v4
  CHECK_FALSE(time_uuid_ticks("not-a-uuid"));
  auto future = time_uuid_at(now_ms() + 50, 0);  // small: later ids (other tests) follow it
  observe_time_uuid(future);
  CHECK(*time_uuid_ticks(new_time_uuid()) > *time_uuid_ticks(future));
}

TEST_CASE("lmdb store: append, paging, since exclusive, unknown since") {
  test::TempDir dir;
  auto store = make_lmdb_notification_store(options(dir));
  std::vector<Delivery> batch;
  for (int i = 0; i < 25; ++i) batch.push_back(event(kAlice, i));
  batch.push_back(event(kBob, 100));
  auto ids = store->append(batch);
  REQUIRE(ids);
  REQUIRE(ids->size() == 26);
  for (size_t i = 1; i < ids->size(); ++i) CHECK(*time_uuid_ticks((*ids)[i]) > *time_uuid_ticks((*ids)[i - 1]));

  auto p1 = store->list(kAlice, "c1", "", 10);
  REQUIRE(p1);
  CHECK(numbers(*p1) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(p1->has_more);
  CHECK(p1->notifications[0].id == (*ids)[0]);

  auto p2 = store->list(kAlice, "c1", p1->notifications.back().id, 10);
  REQUIRE(p2);
  CHECK(numbers(*p2) == std::vector<int>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19});
  auto p3 = store->list(kAlice, "c1", p2->notifications.back().id, 10);
  REQUIRE(p3);
  CHECK(numbers(*p3) == std::vector<int>{20, 21, 22, 23, 24});
  CHECK_FALSE(p3->has_more);
  auto p4 = store->list(kAlice, "c1", p3->notifications.back().id, 10);
  REQUIRE(p4);
  CHECK(p4->notifications.empty());
  CHECK_FALSE(p4->has_more);

  // Exactly `size` left: no has_more.
  auto exact = store->list(kAlice, "c1", (*ids)[14], 10);
  REQUIRE(exact);
  CHECK(exact->notifications.size() == 10);
  CHECK_FALSE(exact->has_more);

  // Unknown since: never written, another user's id, a non-v1 uuid.
  for (const std::string& since : {time_uuid_at(1000, 1), (*ids)[25], std::string("00000000-0000-4000-8000-000000000000")}) {
    auto r = store->list(kAlice, "c1", since, 10);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == 404);
    CHECK(r.error().label == "not-found");
  }

  auto bob = store->list(kBob, "", "", 10);
  REQUIRE(bob);
  CHECK(numbers(*bob) == std::vector<int>{100});

  auto last = store->last(kAlice, "c1");
  REQUIRE(last);
  CHECK(last->id == (*ids)[24]);
  CHECK_FALSE(store->last("00000000-0000-4000-8000-0000000000cc", "c1"));
  auto found = store->find(kAlice, "c1", (*ids)[3]);
  REQUIRE(found);
  CHECK(found->payload[0]["n"] == 3);
  CHECK_FALSE(store->find(kBob, "c1", (*ids)[3]));
}

TEST_CASE("lmdb store: visibility per client") {
  test::TempDir dir;
  auto store = make_lmdb_notification_store(options(dir));
  auto ids = store->append({event(kAlice, 0), event(kAlice, 1, {"c1"}), event(kAlice, 2, {"c2"}),
                            event(kAlice, 3, {"c1", "c2"}), event(kAlice, 4, {"c2"})});
  REQUIRE(ids);
  CHECK(numbers(*store->list(kAlice, "c1", "", 100)) == std::vector<int>{0, 1, 3});
  CHECK(numbers(*store->list(kAlice, "c2", "", 100)) == std::vector<int>{0, 2, 3, 4});
  CHECK(numbers(*store->list(kAlice, "c3", "", 100)) == std::vector<int>{0});
  CHECK(numbers(*store->list(kAlice, "", "", 100)) == std::vector<int>{0});
  // has_more counts visible notifications only.
  auto p = store->list(kAlice, "c1", "", 2);
  CHECK(numbers(*p) == std::vector<int>{0, 1});
  CHECK(p->has_more);
  // since may be a notification the client cannot see.
  CHECK(numbers(*store->list(kAlice, "c1", (*ids)[2], 100)) == std::vector<int>{3});
  CHECK(store->last(kAlice, "c1")->payload[0]["n"] == 3);
  CHECK(store->last(kAlice, "c2")->payload[0]["n"] == 4);
  CHECK(store->last(kAlice, "c9")->payload[0]["n"] == 0);
  CHECK_FALSE(store->find(kAlice, "c1", (*ids)[2]));
  CHECK(store->find(kAlice, "c2", (*ids)[2]));
}

TEST_CASE("lmdb store: retention trimming in bounded passes") {
  test::TempDir dir;
  auto opt = options(dir);
  opt.retention_ms = 60 * 1000;
  opt.trim_batch = 7;
  auto store = make_lmdb_notification_store(opt);
  std::vector<Delivery> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(event(kAlice, i));
  for (int i = 0; i < 10; ++i) batch.push_back(event(kBob, i));
  auto old_ids = store->append(batch);
  REQUIRE(old_ids);

  // Nothing is old enough yet.
  CHECK(store->trim_pass(now_ms()) == 0);
  CHECK(store->list(kAlice, "c", "", 100)->notifications.size() == 10);

  // An hour later everything written so far has expired; passes delete at most trim_batch each.
  int64_t later = now_ms() + 3600 * 1000;
  size_t total = 0;
  for (int pass = 0; pass < 10; ++pass) {
    size_t n = store->trim_pass(later);
    CHECK(n <= 7);
    total += n;
  }
  CHECK(total == 20);
  CHECK(store->list(kAlice, "c", "", 100)->notifications.empty());
  CHECK_FALSE(store->last(kBob, "c"));
  // A trimmed since is unknown: the client resyncs.
  auto r = store->list(kAlice, "c", (*old_ids)[9], 100);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == 404);

  // Fresh notifications survive a pass at the real time.
  auto fresh = store->append({event(kAlice, 42)});
  REQUIRE(fresh);
  CHECK(store->trim_pass(now_ms()) == 0);
  CHECK(numbers(*store->list(kAlice, "c", "", 100)) == std::vector<int>{42});
}

TEST_CASE("lmdb store: persists across restart; ids keep increasing") {
  test::TempDir dir;
  std::string last_id;
  {
    auto store = make_lmdb_notification_store(options(dir));
    auto ids = store->append({event(kAlice, 1), event(kAlice, 2)});
    REQUIRE(ids);
    last_id = ids->back();
    // The same directory cannot be opened twice in one process.
    CHECK_THROWS_AS(make_lmdb_notification_store(options(dir)), std::runtime_error);
  }
  auto store = make_lmdb_notification_store(options(dir));
  CHECK(numbers(*store->list(kAlice, "c", "", 100)) == std::vector<int>{1, 2});
  CHECK(store->last(kAlice, "c")->id == last_id);
  auto ids = store->append({event(kAlice, 3)});
  REQUIRE(ids);
  CHECK(*time_uuid_ticks(ids->front()) > *time_uuid_ticks(last_id));
  CHECK(numbers(*store->list(kAlice, "c", last_id, 100)) == std::vector<int>{3});
}

TEST_CASE("lmdb store: concurrent appends are all stored, ids strictly increasing per user") {
  test::TempDir dir;
  auto store = make_lmdb_notification_store(options(dir));
  std::mutex mu;
  std::vector<std::string> observed;  // commit-observer order
  store->set_commit_observer([&](const std::vector<Delivery>& ds, const std::vector<std::string>& ids) {
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(ds.size() == ids.size());
    for (const auto& id : ids) observed.push_back(id);
  });
  constexpr int kThreads = 8, kPerThread = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = store->append({event(t % 2 ? kAlice : kBob, t * 1000 + i), event(kAlice, t * 1000 + i, {"c1"})});
        if (!r || r->size() != 2) failures.fetch_add(1);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);

  auto alice = store->list(kAlice, "c1", "", 10000);
  auto bob = store->list(kBob, "c1", "", 10000);
  CHECK(alice->notifications.size() == kThreads * kPerThread + kThreads / 2 * kPerThread);
  CHECK(bob->notifications.size() == kThreads / 2 * kPerThread);
  for (const Page* p : {&*alice, &*bob}) {
    for (size_t i = 1; i < p->notifications.size(); ++i)
      CHECK(*time_uuid_ticks(p->notifications[i].id) > *time_uuid_ticks(p->notifications[i - 1].id));
  }
  // Each thread's own notifications are in its order.
  std::map<int, int> last_seen;
  for (const auto& n : alice->notifications) {
    int v = n.payload[0]["n"].get<int>();
    int t = v / 1000;
    if (n.payload[0]["n"] == v && last_seen.count(t)) CHECK(v >= last_seen[t]);
    last_seen[t] = v;
  }
  std::lock_guard<std::mutex> lock(mu);
  CHECK(observed.size() == static_cast<size_t>(kThreads * kPerThread * 2));
  for (size_t i = 1; i < observed.size(); ++i) CHECK(*time_uuid_ticks(observed[i]) > *time_uuid_ticks(observed[i - 1]));
}

TEST_CASE("lmdb store: a user's queue is capped at max_per_user; the oldest go, a trimmed since is 404") {
  test::TempDir dir;
  auto opt = options(dir);
  opt.max_per_user = 100;
  opt.retention_ms = 60 * 1000;
  std::string first_page_last;
  {
    auto store = make_lmdb_notification_store(opt);
    // An offline client's queue: Bob's phone read up to #9, then stayed away.
    std::vector<Delivery> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(event(kBob, i, {"phone"}));
    auto ids = store->append(batch);
    REQUIRE(ids);
    first_page_last = ids->back();
    // 150 more, in batches of mixed users: Alice is far below the cap and keeps everything.
    for (int i = 10; i < 160; i += 10) {
      std::vector<Delivery> more;
      for (int j = i; j < i + 10; ++j) more.push_back(event(kBob, j, {"phone"}));
      more.push_back(event(kAlice, i));
      REQUIRE(store->append(more));
    }
    auto page = store->list(kBob, "phone", "", 1000);
    REQUIRE(page);
    std::vector<int> expected;
    for (int i = 60; i < 160; ++i) expected.push_back(i);
    CHECK(numbers(*page) == expected);  // the newest 100, in order
    CHECK(store->list(kAlice, "c", "", 1000)->notifications.size() == 15);
    // The phone's since was trimmed: 404, so it does a full resync (and then pages normally).
    auto stale = store->list(kBob, "phone", first_page_last, 100);
    REQUIRE_FALSE(stale);
    CHECK(stale.error().code == 404);
    CHECK(store->list(kBob, "phone", page->notifications.back().id, 100)->notifications.empty());
  }
  // The count survives a restart: the next append trims exactly one.
  auto store = make_lmdb_notification_store(opt);
  REQUIRE(store->append({event(kBob, 160, {"phone"})}));
  auto page = store->list(kBob, "phone", "", 1000);
  REQUIRE(page->notifications.size() == 100);
  CHECK(numbers(*page).front() == 61);
  CHECK(numbers(*page).back() == 160);
  // Retention trimming keeps the count right: once everything expired, the queue refills to
  // the full cap before anything is deleted.
  size_t trimmed = 0;
  for (int pass = 0; pass < 100 && trimmed < 115; ++pass) trimmed += store->trim_pass(now_ms() + 3600 * 1000);
  CHECK(trimmed == 115);
  std::vector<Delivery> refill;
  for (int i = 0; i < 100; ++i) refill.push_back(event(kBob, 1000 + i));
  REQUIRE(store->append(refill));
  CHECK(store->list(kBob, "phone", "", 1000)->notifications.size() == 100);
  CHECK(numbers(*store->list(kBob, "phone", "", 1000)).front() == 1000);
}

TEST_CASE("lmdb store: a page also ends at its byte budget, with at least one notification") {
  test::TempDir dir;
  auto store = make_lmdb_notification_store(options(dir));
  std::vector<Delivery> batch;
  for (int i = 0; i < 5; ++i) {
    Delivery d = event(kAlice, i);
    d.payload[0]["blob"] = std::string(1000, 'x');  // each payload ~1030 bytes of JSON
    batch.push_back(std::move(d));
  }
  REQUIRE(store->append(batch));
  auto two = store->list(kAlice, "c1", "", 100, 2500);
  REQUIRE(two);
  CHECK(numbers(*two) == std::vector<int>{0, 1});
  CHECK(two->has_more);
  auto rest = store->list(kAlice, "c1", two->notifications.back().id, 100, 2500);
  REQUIRE(rest);
  CHECK(numbers(*rest) == std::vector<int>{2, 3});
  auto one = store->list(kAlice, "c1", "", 100, 10);  // smaller than any: still one per page
  REQUIRE(one);
  CHECK(numbers(*one) == std::vector<int>{0});
  CHECK(one->has_more);
  auto all = store->list(kAlice, "c1", "", 100, 1 << 20);
  REQUIRE(all);
  CHECK(numbers(*all) == std::vector<int>{0, 1, 2, 3, 4});
  CHECK_FALSE(all->has_more);
}

TEST_CASE("lmdb store: a full store deletes its oldest notifications early instead of refusing appends") {
  auto fill = [](LmdbStoreOptions o) {
    o.map_size_bytes = size_t{1} << 20;
    auto store = make_lmdb_notification_store(o);
    size_t refused = 0;
    std::string last_id;
    for (int i = 0; i < 600; ++i) {  // 600 x 4 KiB: more than twice the 1 MiB map
      Delivery d = event(kAlice, i);
      d.payload[0]["blob"] = std::string(4096, 'x');
      auto ids = store->append({d});
      if (!ids) {
        CHECK(ids.error().code == 507);
        ++refused;
      } else {
        last_id = ids->front();
      }
    }
    auto page = store->list(kAlice, "c1", "", 10000);
    REQUIRE(page);
    return std::make_tuple(refused, page->notifications.size(), page->notifications.empty() ? "" : page->notifications.back().id, last_id);
  };
  SECTION("notifications older than the pressure window go; every append succeeds") {
    test::TempDir dir;
    LmdbStoreOptions o = options(dir);
    o.retention_ms = 4;  // pressure windows of 2 ms and 1 ms: everything but the last few
    o.pressure_min_window_ms = 1;
    auto [refused, kept, newest, last] = fill(o);
    CHECK(refused == 0);
    CHECK(kept < 600);
    CHECK(newest == last);
  }
  SECTION("nothing older than the minimum window: 507, as before") {
    test::TempDir dir;
    LmdbStoreOptions o = options(dir);
    o.pressure_min_window_ms = 3600 * 1000;  // with 28 days of retention, nothing here is old enough
    auto [refused, kept, newest, last] = fill(o);
    CHECK(refused > 0);
    CHECK(kept + refused == 600);
  }
}
