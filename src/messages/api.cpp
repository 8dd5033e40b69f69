#include "messages/api.h"

#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "conversations/conversation_json.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/time.h"
#include "messages/otr_message.h"
#include "messages/recipient_check.h"

namespace wirebox::messages {

using namespace http;
using nlohmann::json;

namespace {

// Bytes of ciphertext and blob one message may store across all its notifications (base64).
constexpr uint64_t kMaxFanOutBytes = 256ull << 20;

json client_map_json(const ClientMap& m, const std::string& domain) {
  json users = json::object();
  for (const auto& [user, clients] : m) users[user] = json(std::vector<std::string>(clients.begin(), clients.end()));
  json out = json::object();
  if (!m.empty()) out[domain] = users;
  return out;
}

}  // namespace

void register_routes(Router& router, const std::string& domain, conversations::ConversationStore& conversations,
                     clients::ClientStore& clients, notifications::EventPublisher& events) {
  router.add(Verb::post, "/conversations/{domain}/{cid}/proteus/messages", Access::kUser,
             [domain, &conversations, &clients, &events](Request& req) {
               const ApiError no_conversation{404, "no-conversation", "Conversation not found"};
               const std::string& me = req.identity.user_id;
               auto cid = normalize_uuid(req.param("cid"));
               if (!cid) return error_response(ApiError::bad_request("Invalid conversation id"));
               if (req.param("domain") != domain) return error_response(no_conversation);
               auto conv = conversations.find(*cid);
               bool member = false;
               if (conv)
                 for (const auto& m : conv->members) member = member || m.user_id == me;
               if (!member) return error_response(no_conversation);

               auto message = decode_otr_message(req.body);
               if (!message) return error_response(message.error());
               if (!clients.find(me, message->sender_client))
                 return error_response({403, "unknown-client", "Unknown Client"});

               std::vector<std::string> member_ids;
               for (const auto& m : conv->members) member_ids.push_back(m.user_id);
               ClientMap member_clients;
               for (const auto& [user, list] : clients.list_many(member_ids)) {
                 auto& set = member_clients[user];
                 for (const auto& c : list) set.insert(c.id);
               }
               RecipientCheck check = check_recipients(*message, domain, me, member_clients);
               std::string now = iso8601_ms(now_ms());
               json status = {{"time", now},
                              {"missing", client_map_json(check.missing, domain)},
                              {"redundant", client_map_json(check.redundant, domain)},
                              {"deleted", client_map_json(check.deleted, domain)},
                              {"failed_to_send", json::object()},
                              {"failed_to_confirm_clients", json::object()}};
               for (const auto& [other, users] : check.redundant_remote)
                 status["redundant"].update(client_map_json(users, other));
               // A 412 carries the bare status, no {code,label,message} (as wire-server).
               if (check.reject) return json_response(412, status);

               std::optional<std::string> blob;
               if (message->blob) blob = base64_encode(*message->blob);
               // One notification per recipient client: a body that names a client many times
               // would otherwise store (and hold in memory) one copy of the message per mention,
               // each with its own copy of the blob. The first entry for a client counts.
               std::set<std::pair<std::string_view, std::string_view>> addressed;
               std::vector<const RecipientEntry*> entries;
               uint64_t stored_bytes = 0;
               for (const auto& e : message->recipients) {
                 if (e.domain != domain) continue;  // another backend's client: never ours to deliver
                 auto d = check.deliver.find(e.user_id);
                 if (d == check.deliver.end() || !d->second.count(e.client_id)) continue;
                 if (!addressed.emplace(e.user_id, e.client_id).second) continue;
                 entries.push_back(&e);
                 stored_bytes += e.ciphertext.size() * 4 / 3 + (blob ? blob->size() : 0);
               }
               // Even once per client, a big external blob to a big conversation is stored once
               // per client: refused beyond what any real message needs (the clients' external
               // threshold keeps blobs to the size of one message).
               if (stored_bytes > kMaxFanOutBytes)
                 return error_response({413, "client-error", "Message too large for its number of recipients"});
               std::vector<notifications::Delivery> deliveries;
               for (const RecipientEntry* entry : entries) {
                 const RecipientEntry& e = *entry;
                 json data = {{"sender", message->sender_client}, {"recipient", e.client_id},
                              {"text", base64_encode(e.ciphertext)}};
                 if (blob) data["data"] = *blob;
                 json event = conversations::conversation_event("conversation.otr-message-add", *conv, me,
                                                                std::move(data), domain);
                 event["time"] = now;
                 deliveries.push_back({e.user_id, {e.client_id}, json::array({event})});
               }
               if (auto s = events.publish(deliveries, message->transient); !s) return error_response(s.error());
               return json_response(201, status);
             });
}

}  // namespace wirebox::messages
