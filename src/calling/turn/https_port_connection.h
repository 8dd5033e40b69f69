// HttpsPortConnection: a TURN client that reached the relay over TLS on the HTTPS port
// (`turns:host:443`, for clients behind firewalls that let only HTTPS out). Its TLS stream stays
// on the HTTP server's loop that accepted and identified it; its messages are handled by a
// TurnShard on the shard's own loop, so every crossing is a post and no state is shared but one
// atomic:
// - client to relay: each read is framed as StreamConnection frames it (ChannelData padding
//   included) and its complete messages go to the shard in one post; the next read starts only
//   once the shard has handled them, so the shard paces the client as it paces a
//   StreamConnection on its own loop;
// - relay to client: each message the shard sends is posted back and written in its own TLS
//   record, within StreamConnection::kMaxBacklog bytes queued (counted across both loops by
//   the atomic; beyond it relayed data is dropped);
// - closing the connection ends the allocation: on_link_closed is posted to the shard after
//   every batch posted before it;
// - as StreamConnection, a connection found without an allocation (asked of the shard, every
//   RelayOptions::stream_allocation_grace_ms) is closed.
//
// Ownership: this class (the HTTP half) is held only by handlers on its HTTP loop; the shard
// half (ShardLink, the ClientLink the shard knows) by this class and by handlers on the shard's
// loop, which reach this class only through a weak_ptr locked on the HTTP loop. So each loop
// destroys only its own objects. The HTTP loop must outlive the relay's threads: stop the
// relay before destroying the server's loops.
// Thread safety: start() and everything else of this class on the stream's loop.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "calling/turn/https_stream.h"
#include "calling/turn/turn_shard.h"

namespace wirebox::turn {

class HttpsPortConnection final : public std::enable_shared_from_this<HttpsPortConnection> {
 public:
  using Stream = HttpsStream;

  // connection_slot: held until the connection is destroyed (the HTTP server's count of it).
  HttpsPortConnection(Stream stream, TurnShard& shard, ClientAddress address, std::shared_ptr<void> connection_slot);
  ~HttpsPortConnection();

  // Handles `already_read` (decrypted bytes the HTTP server read to identify the client), then
  // reads on.
  void start(std::vector<uint8_t> already_read);

 private:
  class ShardLink;

  void read();
  void deliver();
  void queue(std::vector<uint8_t> message);
  void write();
  void close();
  void check_allocation_later();

  Stream stream_;
  TurnShard& shard_;
  ClientAddress address_;
  std::shared_ptr<ShardLink> link_;
  boost::asio::steady_timer shard_done_;  // waited on while the shard handles a batch
  boost::asio::steady_timer allocation_check_;
  std::vector<uint8_t> buffer_;
  size_t filled_ = 0;
  std::deque<std::vector<uint8_t>> pending_;  // front() is being written when writing_
  bool writing_ = false;
  bool closed_ = false;
  std::shared_ptr<void> connection_slot_;
};

}  // namespace wirebox::turn
