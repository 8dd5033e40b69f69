#include <catch2/catch.hpp>

#include "messages/recipient_check.h"

using namespace wirebox::messages;

namespace {

const std::string kDomain = "d.example";
const std::string kAlice = "0a000000-0000-4000-8000-00000000000a";
const std::string kBob = "0b000000-0000-4000-8000-00000000000b";
const std::string kCarol = "0c000000-0000-4000-8000-00000000000c";
const std::string kStranger = "0d000000-0000-4000-8000-00000000000d";

// Alice (sender, clients a1 = sending, a2) and Bob (b1, b2) are members; Carol (c1) too.
const ClientMap kMembers = {{kAlice, {"a1", "a2"}}, {kBob, {"b1", "b2"}}, {kCarol, {"c1"}}};

OtrMessage message(MismatchStrategy s, std::vector<std::pair<std::string, std::string>> to) {
  OtrMessage m;
  m.sender_client = "a1";
  m.strategy = s;
  for (auto& [u, c] : to) m.recipients.push_back({kDomain, u, c, "x"});
  return m;
}

}  // namespace

TEST_CASE("complete recipients: delivered, nothing missing") {
  auto m = message(MismatchStrategy::kReportAll, {{kAlice, "a2"}, {kBob, "b1"}, {kBob, "b2"}, {kCarol, "c1"}});
  auto r = check_recipients(m, kDomain, kAlice, kMembers);
  CHECK_FALSE(r.reject);
  CHECK(r.missing.empty());
  CHECK(r.deliver.at(kBob) == std::set<std::string>{"b1", "b2"});
  CHECK(r.deliver.at(kAlice) == std::set<std::string>{"a2"});  // the sender's other client
}

TEST_CASE("missing clients: report_all rejects, ignore_all delivers the rest") {
  auto to = std::vector<std::pair<std::string, std::string>>{{kBob, "b1"}};
  auto strict = check_recipients(message(MismatchStrategy::kReportAll, to), kDomain, kAlice, kMembers);
  CHECK(strict.reject);
  CHECK(strict.missing.at(kBob) == std::set<std::string>{"b2"});
  CHECK(strict.missing.at(kCarol) == std::set<std::string>{"c1"});
  CHECK(strict.missing.at(kAlice) == std::set<std::string>{"a2"});
  CHECK(strict.missing.count(kAlice) == 1);
  auto lax = check_recipients(message(MismatchStrategy::kIgnoreAll, to), kDomain, kAlice, kMembers);
  CHECK_FALSE(lax.reject);
  CHECK(lax.deliver.at(kBob) == std::set<std::string>{"b1"});
}

TEST_CASE("report_only and ignore_only look only at the listed users") {
  auto to = std::vector<std::pair<std::string, std::string>>{{kAlice, "a2"}, {kBob, "b1"}, {kBob, "b2"}};  // Carol missing
  auto only_bob = message(MismatchStrategy::kReportOnly, to);
  only_bob.strategy_users = {{kBob, kDomain}};
  CHECK_FALSE(check_recipients(only_bob, kDomain, kAlice, kMembers).reject);
  auto only_carol = message(MismatchStrategy::kReportOnly, to);
  only_carol.strategy_users = {{kCarol, kDomain}};
  CHECK(check_recipients(only_carol, kDomain, kAlice, kMembers).reject);
  auto ignore_carol = message(MismatchStrategy::kIgnoreOnly, to);
  ignore_carol.strategy_users = {{kCarol, kDomain}};
  CHECK_FALSE(check_recipients(ignore_carol, kDomain, kAlice, kMembers).reject);
  auto ignore_bob = message(MismatchStrategy::kIgnoreOnly, to);
  ignore_bob.strategy_users = {{kBob, kDomain}};
  CHECK(check_recipients(ignore_bob, kDomain, kAlice, kMembers).reject);
}

TEST_CASE("redundant and deleted recipients are reported and never delivered") {
  auto m = message(MismatchStrategy::kIgnoreAll,
                   {{kAlice, "a1"}, {kStranger, "s1"}, {kBob, "gone"}, {kBob, "b1"}});
  m.recipients.push_back({"other.example", kBob, "b2", "x"});
  auto r = check_recipients(m, kDomain, kAlice, kMembers);
  CHECK(r.redundant.at(kAlice) == std::set<std::string>{"a1"});  // the sending client itself
  CHECK(r.redundant.at(kStranger) == std::set<std::string>{"s1"});
  CHECK(r.deleted.at(kBob) == std::set<std::string>{"gone"});
  CHECK(r.deliver.size() == 1);
  CHECK(r.deliver.at(kBob) == std::set<std::string>{"b1"});
  // Addressed under another domain: reported under that domain, not as a local client.
  CHECK(r.redundant_remote.at("other.example").at(kBob) == std::set<std::string>{"b2"});
  CHECK_FALSE(r.redundant.count(kBob));
}

TEST_CASE("a member's client addressed under another domain is still missing") {
  // Every member client has a ciphertext, but two of Bob's are listed under a foreign domain:
  // nothing is delivered to them, so report_all must refuse the send (it used to be a 201).
  std::vector<std::pair<std::string, std::string>> to;
  for (const auto& [user, clients] : kMembers)
    for (const auto& c : clients)
      if (user != kBob) to.push_back({user, c});
  auto m = message(MismatchStrategy::kReportAll, to);
  for (const auto& c : kMembers.at(kBob)) m.recipients.push_back({"evil.example", kBob, c, "x"});
  auto r = check_recipients(m, kDomain, kAlice, kMembers);
  CHECK(r.reject);
  CHECK(r.missing.at(kBob) == kMembers.at(kBob));
  CHECK(r.redundant_remote.at("evil.example").at(kBob) == kMembers.at(kBob));
}
