// ConversationStore: the conversations module's tables — conversations, their members (with
// role and per-member self state) and 1:1 connections between users. Every mutating call is
// one committed transaction. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/api_error.h"
#include "storage/migrations.h"

namespace wirebox::storage {
class Database;
}

namespace wirebox::conversations {

enum class ConvType { kRegular = 0, kSelf = 1, kOne2One = 2, kConnect = 3 };

struct MemberState {  // what a member sets for themselves (PUT .../self)
  std::optional<int64_t> otr_muted_status;
  std::optional<std::string> otr_muted_ref;
  bool otr_archived = false;
  std::optional<std::string> otr_archived_ref;
  bool hidden = false;
  std::optional<std::string> hidden_ref;
};

struct Member {
  std::string user_id;
  std::string role = "wire_member";  // wire_admin | wire_member
  MemberState state;
};

struct Conversation {
  std::string id;
  ConvType type = ConvType::kRegular;
  std::string creator;
  std::optional<std::string> name;
  std::string team_id;  // empty: not a team conversation
  std::vector<std::string> access = {"invite"};
  std::vector<std::string> access_role = {"team_member", "non_team_member", "guest", "service"};
  std::optional<int64_t> receipt_mode;
  std::optional<int64_t> message_timer;
  int64_t created_at_ms = 0;
  std::vector<Member> members;  // filled by find()
};

enum class ConnectionStatus { kSent, kPending, kAccepted, kBlocked, kIgnored, kCancelled };
const char* to_string(ConnectionStatus s);
std::optional<ConnectionStatus> parse_connection_status(const std::string& s);

struct Connection {
  std::string from;
  std::string to;
  ConnectionStatus status = ConnectionStatus::kSent;
  std::string conversation_id;
  int64_t last_update_ms = 0;
};

class ConversationStore {
 public:
  virtual ~ConversationStore() = default;

  virtual Status create(const Conversation& conversation) = 0;  // with its members
  // Creates it unless a conversation with that id exists; true if created.
  virtual Result<bool> create_if_absent(const Conversation& conversation) = 0;
  virtual std::optional<Conversation> find(const std::string& id) = 0;
  virtual std::optional<Member> member(const std::string& conversation_id, const std::string& user_id) = 0;
  // The user's conversation ids after `after` (exclusive, "" = from the start) in id order.
  virtual std::vector<std::string> conversation_ids(const std::string& user_id, const std::string& after,
                                                    size_t limit) = 0;
  virtual Status add_members(const std::string& conversation_id, const std::vector<Member>& members) = 0;
  virtual Status remove_member(const std::string& conversation_id, const std::string& user_id) = 0;
  virtual Status set_member_state(const std::string& conversation_id, const std::string& user_id,
                                  const MemberState& state) = 0;
  virtual Status set_member_role(const std::string& conversation_id, const std::string& user_id,
                                 const std::string& role) = 0;
  virtual Status rename(const std::string& conversation_id, const std::string& name) = 0;
  // Writes the conversation's settings: access, access_role, receipt_mode and message_timer.
  virtual Status update_settings(const Conversation& conversation) = 0;
  virtual Status set_type(const std::string& conversation_id, ConvType type) = 0;
  virtual Status remove(const std::string& conversation_id) = 0;

  virtual std::optional<Connection> connection(const std::string& from, const std::string& to) = 0;
  // Writes both directions in one transaction.
  virtual Status put_connection_pair(const Connection& a, const Connection& b) = 0;
  virtual std::vector<Connection> connections(const std::string& from, const std::string& after_to, size_t limit) = 0;
};

storage::ModuleSchema conversation_schema();
std::unique_ptr<ConversationStore> make_sqlite_conversation_store(storage::Database& db);

}  // namespace wirebox::conversations
