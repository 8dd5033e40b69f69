// Recipient check for a Proteus send: compares the clients a message is addressed to with the
// clients the conversation's members actually have, and decides whether the send must fail
// (412) under the sender's client-mismatch strategy. Pure function, thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "messages/otr_message.h"

namespace wirebox::messages {

using ClientMap = std::map<std::string, std::set<std::string>>;  // user id → client ids

struct RecipientCheck {
  ClientMap missing;    // member clients the message has no ciphertext for
  ClientMap redundant;  // ciphertexts for non-members, or for the sending client itself
  // Ciphertexts addressed under another domain, by domain: this backend does not federate, so
  // they go nowhere, and they stand for no local client (a local member's client listed under
  // another domain is still missing).
  std::map<std::string, ClientMap> redundant_remote;
  ClientMap deleted;    // ciphertexts for clients a member no longer has
  ClientMap deliver;    // where the message goes
  bool reject = false;  // 412: missing clients the strategy cares about
};

// member_clients: every member user (the sender's user included) → all of their clients.
RecipientCheck check_recipients(const OtrMessage& message, const std::string& local_domain,
                                const std::string& sender_user, const ClientMap& member_clients);

}  // namespace wirebox::messages
