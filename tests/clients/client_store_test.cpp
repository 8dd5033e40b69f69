#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "clients/client_store.h"
#include "storage/sqlite.h"
#include "support/temp_dir.h"

using namespace wirebox;
using namespace wirebox::clients;

namespace {

struct Fixture {
  test::TempDir dir;
  storage::Database db{dir.file("t.db"), 4};
  std::unique_ptr<ClientStore> store;
  Fixture() {
    storage::apply_migrations(db, {client_schema()});
    store = make_sqlite_client_store(db);
  }
  Client add(const std::string& user, int prekeys, const std::string& type = "permanent") {
    NewClient n;
    n.client.type = type;
    n.client.cls = "desktop";
    n.last_resort = {kLastResortPrekeyId, "LAST"};
    for (int i = 0; i < prekeys; ++i) n.prekeys.push_back({i, "K" + std::to_string(i)});
    auto c = store->add(user, n, 7, nullptr);
    REQUIRE(c.ok());
    return *c;
  }
};

}  // namespace

TEST_CASE("claims hand out prekeys in order, then the last-resort key forever") {
  Fixture f;
  Client c = f.add("u", 2);
  CHECK(f.store->prekey_ids("u", c.id) == std::vector<int64_t>{0, 1, kLastResortPrekeyId});
  CHECK(f.store->claim("u", c.id)->id == 0);
  CHECK(f.store->claim("u", c.id)->id == 1);
  for (int i = 0; i < 3; ++i) {
    auto p = f.store->claim("u", c.id);
    REQUIRE(p);
    CHECK(p->id == kLastResortPrekeyId);
    CHECK(p->key == "LAST");
  }
  CHECK(f.store->prekey_ids("u", c.id) == std::vector<int64_t>{kLastResortPrekeyId});
  CHECK_FALSE(f.store->claim("u", "ffff").has_value());
  CHECK_FALSE(f.store->claim("other", c.id).has_value());
}

TEST_CASE("concurrent claims hand out every prekey exactly once") {
  Fixture f;
  constexpr int kPrekeys = 200, kThreads = 8, kClaimsPerThread = 40;  // 320 claims > 200 keys
  Client c = f.add("u", kPrekeys);
  std::mutex mu;
  std::multiset<int64_t> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kClaimsPerThread; ++i) {
        auto p = f.store->claim("u", c.id);
        std::lock_guard<std::mutex> lock(mu);
        seen.insert(p ? p->id : -1);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int id = 0; id < kPrekeys; ++id) CHECK(seen.count(id) == 1);
  CHECK(seen.count(kLastResortPrekeyId) == kThreads * kClaimsPerThread - kPrekeys);
  CHECK(seen.count(-1) == 0);
}

TEST_CASE("at most max_permanent permanent clients; a temporary client replaces the previous one") {
  Fixture f;
  for (int i = 0; i < 7; ++i) f.add("u", 1);
  NewClient n;
  n.client.type = "permanent";
  n.last_resort = {kLastResortPrekeyId, "L"};
  auto over = f.store->add("u", n, 7, nullptr);
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().label == "too-many-clients");

  Client t1 = f.add("u", 1, "temporary");
  std::string replaced;
  n.client.type = "temporary";
  auto t2 = f.store->add("u", n, 7, &replaced);
  REQUIRE(t2.ok());
  CHECK(replaced == t1.id);
  CHECK(f.store->list("u").size() == 8);
}

TEST_CASE("client ids are canonical hex and removal deletes prekeys") {
  Fixture f;
  Client c = f.add("u", 3);
  CHECK(c.id.size() <= 16);
  CHECK(c.id[0] != '0');
  REQUIRE(f.store->remove("u", c.id).ok());
  CHECK_FALSE(f.store->find("u", c.id).has_value());
  CHECK(f.store->prekey_ids("u", c.id).empty());
  CHECK_FALSE(f.store->claim("u", c.id).has_value());
}

TEST_CASE("update upserts prekeys and replaces the last-resort key") {
  Fixture f;
  Client c = f.add("u", 1);
  ClientUpdate u;
  u.prekeys = {{0, "NEW0"}, {5, "K5"}};
  u.last_resort = Prekey{kLastResortPrekeyId, "LAST2"};
  u.capabilities = std::vector<std::string>{"legalhold-implicit-consent"};
  REQUIRE(f.store->update("u", c.id, u).ok());
  CHECK(f.store->claim("u", c.id)->key == "NEW0");
  CHECK(f.store->claim("u", c.id)->key == "K5");
  CHECK(f.store->claim("u", c.id)->key == "LAST2");
  CHECK(f.store->find("u", c.id)->capabilities == std::vector<std::string>{"legalhold-implicit-consent"});
  CHECK(f.store->update("u", "abc", u).error().code == 404);
}
