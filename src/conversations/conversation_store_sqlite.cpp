#include <nlohmann/json.hpp>

#include "conversations/conversation_store.h"
#include "storage/sqlite.h"

namespace wirebox::conversations {

const char* to_string(ConnectionStatus s) {
  switch (s) {
    case ConnectionStatus::kSent: return "sent";
    case ConnectionStatus::kPending: return "pending";
    case ConnectionStatus::kAccepted: return "accepted";
    case ConnectionStatus::kBlocked: return "blocked";
    case ConnectionStatus::kIgnored: return "ignored";
    case ConnectionStatus::kCancelled: return "cancelled";
  }
  return "sent";
}

std::optional<ConnectionStatus> parse_connection_status(const std::string& s) {
  for (auto st : {ConnectionStatus::kSent, ConnectionStatus::kPending, ConnectionStatus::kAccepted,
                  ConnectionStatus::kBlocked, ConnectionStatus::kIgnored, ConnectionStatus::kCancelled})
    if (s == to_string(st)) return st;
  return std::nullopt;
}

namespace {

using storage::Connection;
using storage::Statement;
using Conn = conversations::Connection;

std::vector<std::string> from_json_list(const std::string& text) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_array())
    for (const auto& x : j)
      if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

std::optional<int64_t> opt_int(Statement& st, int col) {
  if (st.is_null(col)) return std::nullopt;
  return st.integer(col);
}

void bind_opt_int(Statement& st, int idx, const std::optional<int64_t>& v) {
  if (v) st.bind(idx, *v);
  else st.bind_null(idx);
}

constexpr const char* kMemberColumns =
    "user_id, role, otr_muted_status, otr_muted_ref, otr_archived, otr_archived_ref, hidden, hidden_ref";

Member read_member(Statement& st) {
  Member m;
  m.user_id = st.text(0);
  m.role = st.text(1);
  m.state.otr_muted_status = opt_int(st, 2);
  m.state.otr_muted_ref = st.text_or_null(3);
  m.state.otr_archived = st.integer(4) != 0;
  m.state.otr_archived_ref = st.text_or_null(5);
  m.state.hidden = st.integer(6) != 0;
  m.state.hidden_ref = st.text_or_null(7);
  return m;
}

void insert_member(storage::Connection& c, const std::string& conv, const Member& m) {
  auto st = c.prepare(std::string("INSERT INTO conversation_members(conv_id, ") + kMemberColumns +
                      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(conv_id, user_id) DO NOTHING");
  st.bind(1, conv).bind(2, m.user_id).bind(3, m.role);
  bind_opt_int(st, 4, m.state.otr_muted_status);
  st.bind_opt(5, m.state.otr_muted_ref).bind(6, int64_t{m.state.otr_archived}).bind_opt(7, m.state.otr_archived_ref);
  st.bind(8, int64_t{m.state.hidden}).bind_opt(9, m.state.hidden_ref);
  st.run();
}

Conn read_connection(Statement& st) {
  return Conn{st.text(0), st.text(1), parse_connection_status(st.text(2)).value_or(ConnectionStatus::kSent),
              st.text(3), st.integer(4)};
}

class SqliteConversationStore : public ConversationStore {
 public:
  explicit SqliteConversationStore(storage::Database& db) : db_(db) {}

  Status create(const Conversation& conv) override {
    return db_.try_write("conversation store", [&](storage::Connection& c) { insert(c, conv); });
  }

  Result<bool> create_if_absent(const Conversation& conv) override {
    bool created = false;
    Status s = db_.try_write("conversation store", [&](storage::Connection& c) {
      auto st = c.prepare("SELECT 1 FROM conversations WHERE id = ?");
      st.bind(1, conv.id);
      if (st.step()) return;
      insert(c, conv);
      created = true;
    });
    if (!s) return s.error();
    return created;
  }

  std::optional<Conversation> find(const std::string& id) override {
    std::optional<Conversation> out;
    db_.read([&](storage::Connection& c) {
      auto st = c.prepare(
          "SELECT id, type, creator, name, team_id, access, access_role, receipt_mode, message_timer, created_at"
          " FROM conversations WHERE id = ?");
      st.bind(1, id);
      if (!st.step()) return;
      Conversation conv;
      conv.id = st.text(0);
      conv.type = static_cast<ConvType>(st.integer(1));
      conv.creator = st.text(2);
      conv.name = st.text_or_null(3);
      conv.team_id = st.text(4);
      conv.access = from_json_list(st.text(5));
      conv.access_role = from_json_list(st.text(6));
      conv.receipt_mode = opt_int(st, 7);
      conv.message_timer = opt_int(st, 8);
      conv.created_at_ms = st.integer(9);
      auto ms = c.prepare(std::string("SELECT ") + kMemberColumns +
                          " FROM conversation_members WHERE conv_id = ? ORDER BY rowid");
      ms.bind(1, id);
      while (ms.step()) conv.members.push_back(read_member(ms));
      out = std::move(conv);
    });
    return out;
  }

  std::optional<Member> member(const std::string& conv, const std::string& user) override {
    std::optional<Member> out;
    db_.read([&](storage::Connection& c) {
      auto st = c.prepare(std::string("SELECT ") + kMemberColumns +
                          " FROM conversation_members WHERE conv_id = ? AND user_id = ?");
      st.bind(1, conv).bind(2, user);
      if (st.step()) out = read_member(st);
    });
    return out;
  }

  std::vector<std::string> conversation_ids(const std::string& user, const std::string& after, size_t limit) override {
    std::vector<std::string> out;
    db_.read([&](storage::Connection& c) {
      auto st = c.prepare(
          "SELECT conv_id FROM conversation_members WHERE user_id = ? AND conv_id > ? ORDER BY conv_id LIMIT ?");
      st.bind(1, user).bind(2, after).bind(3, static_cast<int64_t>(limit));
      while (st.step()) out.push_back(st.text(0));
    });
    return out;
  }

  Status add_members(const std::string& conv, const std::vector<Member>& members) override {
    return db_.try_write("conversation store", [&](storage::Connection& c) {
      for (const auto& m : members) insert_member(c, conv, m);
    });
  }

  Status remove_member(const std::string& conv, const std::string& user) override {
    return db_.try_write("conversation store", [&](storage::Connection& c) {
      c.prepare("DELETE FROM conversation_members WHERE conv_id = ? AND user_id = ?").bind(1, conv).bind(2, user).run();
    });
  }

  Status set_member_state(const std::string& conv, const std::string& user, const MemberState& s) override {
    return db_.try_write("conversation store", [&](storage::Connection& c) {
      auto st = c.prepare(
          "UPDATE conversation_members SET otr_muted_status = ?, otr_muted_ref = ?, otr_archived = ?,"
          " otr_archived_ref = ?, hidden = ?, hidden_ref = ? WHERE conv_id = ? AND user_id = ?");
      bind_opt_int(st, 1, s.otr_muted_status);
      st.bind_opt(2, s.otr_muted_ref).bind(3, int64_t{s.otr_archived}).bind_opt(4, s.otr_archived_ref);
      st.bind(5, int64_t{s.hidden}).bind_opt(6, s.hidden_ref).bind(7, conv).bind(8, user);
      st.run();
    });
  }

  Status set_member_role(const std::string& conv, const std::string& user, const std::string& role) override {
    return db_.try_write("conversation store", [&](storage::Connection& c) {
      c.prepare("UPDATE conversation_members SET role = ? WHERE conv_id = ? AND user_id = ?")
          .bind(1, role).bind(2, conv).bind(3, user).run();
    });
  }

  Status rename(const std::string& conv, const std::string& name) override {
    return db_.try_write("conversation store", [&](storage::Connection& c) {
      c.prepare("UPDATE conversations SET name = ? WHERE id = ?").bind(1, name).bind(2, conv).run();
    });
  }

  Status update_settings(const Conversation& conv) override {
    return db_.try_write("conversation store", [&](storage::Connection& c) {
      auto st = c.prepare(
          "UPDATE conversations SET access = ?, access_role = ?, receipt_mode = ?, message_timer = ? WHERE id = ?");
      st.bind(1, nlohmann::json(conv.access).dump()).bind(2, nlohmann::json(conv.access_role).dump());
      bind_opt_int(st, 3, conv.receipt_mode);
      bind_opt_int(st, 4, conv.message_timer);
      st.bind(5, conv.id).run();
    });
  }

  Status set_type(const std::string& conv, ConvType type) override {
    return db_.try_write("conversation store", [&](storage::Connection& c) {
      c.prepare("UPDATE conversations SET type = ? WHERE id = ?")
          .bind(1, static_cast<int64_t>(type)).bind(2, conv).run();
    });
  }

  Status remove(const std::string& conv) override {
    return db_.try_write("conversation store", [&](storage::Connection& c) {
      c.prepare("DELETE FROM conversation_members WHERE conv_id = ?").bind(1, conv).run();
      c.prepare("DELETE FROM conversations WHERE id = ?").bind(1, conv).run();
    });
  }

  std::optional<Conn> connection(const std::string& from, const std::string& to) override {
    std::optional<Conn> out;
    db_.read([&](storage::Connection& c) {
      auto st = c.prepare(
          "SELECT from_user, to_user, status, conv_id, last_update FROM connections WHERE from_user = ? AND to_user = ?");
      st.bind(1, from).bind(2, to);
      if (st.step()) out = read_connection(st);
    });
    return out;
  }

  Status put_connection_pair(const Conn& a, const Conn& b) override {
    return db_.try_write("conversation store", [&](storage::Connection& c) {
      for (const Conn* x : {&a, &b}) {
        c.prepare(
             "INSERT INTO connections(from_user, to_user, status, conv_id, last_update) VALUES (?, ?, ?, ?, ?)"
             " ON CONFLICT(from_user, to_user) DO UPDATE SET status = excluded.status, conv_id = excluded.conv_id,"
             " last_update = excluded.last_update")
            .bind(1, x->from).bind(2, x->to).bind(3, to_string(x->status)).bind(4, x->conversation_id)
            .bind(5, x->last_update_ms).run();
      }
    });
  }

  std::vector<Conn> connections(const std::string& from, const std::string& after_to, size_t limit) override {
    std::vector<Conn> out;
    db_.read([&](storage::Connection& c) {
      auto st = c.prepare(
          "SELECT from_user, to_user, status, conv_id, last_update FROM connections WHERE from_user = ? AND to_user > ?"
          " ORDER BY to_user LIMIT ?");
      st.bind(1, from).bind(2, after_to).bind(3, static_cast<int64_t>(limit));
      while (st.step()) out.push_back(read_connection(st));
    });
    return out;
  }

 private:
  static void insert(storage::Connection& c, const Conversation& conv) {
    auto st = c.prepare(
        "INSERT INTO conversations(id, type, creator, name, team_id, access, access_role, receipt_mode, message_timer,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    st.bind(1, conv.id).bind(2, static_cast<int64_t>(conv.type)).bind(3, conv.creator).bind_opt(4, conv.name);
    st.bind(5, conv.team_id).bind(6, nlohmann::json(conv.access).dump()).bind(7, nlohmann::json(conv.access_role).dump());
    bind_opt_int(st, 8, conv.receipt_mode);
    bind_opt_int(st, 9, conv.message_timer);
    st.bind(10, conv.created_at_ms);
    st.run();
    for (const auto& m : conv.members) insert_member(c, conv.id, m);
  }

  storage::Database& db_;
};

}  // namespace

storage::ModuleSchema conversation_schema() {
  return {"conversations",
          {{1,
            "CREATE TABLE conversations (id TEXT PRIMARY KEY, type INTEGER NOT NULL, creator TEXT NOT NULL,"
            " name TEXT, team_id TEXT NOT NULL, access TEXT NOT NULL, access_role TEXT NOT NULL,"
            " receipt_mode INTEGER, message_timer INTEGER, created_at INTEGER NOT NULL);"
            "CREATE TABLE conversation_members (conv_id TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL,"
            " otr_muted_status INTEGER, otr_muted_ref TEXT, otr_archived INTEGER NOT NULL, otr_archived_ref TEXT,"
            " hidden INTEGER NOT NULL, hidden_ref TEXT, PRIMARY KEY (conv_id, user_id));"
            "CREATE INDEX conversation_members_user ON conversation_members(user_id, conv_id);"
            "CREATE TABLE connections (from_user TEXT NOT NULL, to_user TEXT NOT NULL, status TEXT NOT NULL,"
            " conv_id TEXT NOT NULL, last_update INTEGER NOT NULL, PRIMARY KEY (from_user, to_user));"}}};
}

std::unique_ptr<ConversationStore> make_sqlite_conversation_store(storage::Database& db) {
  return std::make_unique<SqliteConversationStore>(db);
}

}  // namespace wirebox::conversations
