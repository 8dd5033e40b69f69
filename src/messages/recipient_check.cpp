#include "messages/recipient_check.h"

namespace wirebox::messages {

RecipientCheck check_recipients(const OtrMessage& message, const std::string& local_domain,
                                const std::string& sender_user, const ClientMap& member_clients) {
  RecipientCheck r;
  ClientMap provided;
  for (const auto& e : message.recipients) {
    if (e.domain != local_domain) {
      r.redundant_remote[e.domain][e.user_id].insert(e.client_id);
      continue;
    }
    auto member = member_clients.find(e.user_id);
    bool is_sender_client = e.user_id == sender_user && e.client_id == message.sender_client;
    if (member == member_clients.end() || is_sender_client) {
      r.redundant[e.user_id].insert(e.client_id);
    } else if (!member->second.count(e.client_id)) {
      r.deleted[e.user_id].insert(e.client_id);
    } else {
      r.deliver[e.user_id].insert(e.client_id);
    }
    provided[e.user_id].insert(e.client_id);
  }
  for (const auto& [user, clients] : member_clients) {
    for (const auto& c : clients) {
      if (user == sender_user && c == message.sender_client) continue;
      auto p = provided.find(user);
      if (p == provided.end() || !p->second.count(c)) r.missing[user].insert(c);
    }
  }
  auto listed = [&](const std::string& user) {
    for (const auto& u : message.strategy_users)
      if (u.id == user && u.domain == local_domain) return true;
    return false;
  };
  for (const auto& [user, _] : r.missing) {
    switch (message.strategy) {
      case MismatchStrategy::kReportAll: r.reject = true; break;
      case MismatchStrategy::kIgnoreAll: break;
      case MismatchStrategy::kReportOnly: r.reject = r.reject || listed(user); break;
      case MismatchStrategy::kIgnoreOnly: r.reject = r.reject || !listed(user); break;
    }
  }
  return r;
}

}  // namespace wirebox::messages
