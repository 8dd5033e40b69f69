// StreamConnection: one TURN client over TCP or TLS (RFC 8656 §3.1, RFC 7065 turns:). Reads
// the byte stream, splits it into STUN and ChannelData messages (ChannelData padded to 4
// bytes) and hands them to its shard; sends the shard's messages back with at most one write
// in flight and a bounded backlog (beyond kMaxBacklog, relayed data is dropped: a slow TCP
// client must not grow memory without bound). Over TLS each message goes in its own record:
// coturn's client (and, likely, others) reads one message per record and loses the rest of a
// record holding several. Closing the connection ends its allocation; a connection found
// without an allocation (RelayOptions::stream_allocation_grace_ms after its start, and as often
// after that) is closed, so idle or half-open clients cannot hold sockets forever. The read
// buffer starts small (a client that never authenticates costs a few KiB, not a whole frame's
// 68 KiB) and grows to kReadBuffer only for a frame that needs it. The listener counts live
// connections through `slot` (dropped with the connection) to cap them.
//
// Ownership: keeps itself alive with shared_from_this while I/O is pending; the shard only
// holds a ClientLink* to it between on_client_message and on_link_closed.
// Thread safety: lives on its shard's io_context thread.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "calling/turn/client_link.h"
#include "calling/turn/turn_shard.h"

namespace wirebox::turn {

template <class Stream>
class StreamConnection final : public ClientLink, public std::enable_shared_from_this<StreamConnection<Stream>> {
 public:
  static constexpr size_t kInitialReadBuffer = 4096;
  static constexpr size_t kReadBuffer = 65536 + 4096;  // the largest frame, padded, fits
  static constexpr size_t kMaxBacklog = 1 << 20;

  StreamConnection(Stream stream, TurnShard& shard, ClientAddress address, ClientTransport transport,
                   std::shared_ptr<void> slot = {})
      : stream_(std::move(stream)),
        shard_(shard),
        address_(address),
        transport_(transport),
        slot_(std::move(slot)),
        buffer_(kInitialReadBuffer),
        allocation_check_(stream_.get_executor()) {}

  // For TLS the handshake runs first; then reading starts.
  void start();

  void send(std::span<const uint8_t> message) override;
  ClientTransport transport() const override { return transport_; }

 private:
  void read();
  void write();
  void close();
  void check_allocation_later();

  Stream stream_;
  TurnShard& shard_;
  ClientAddress address_;
  ClientTransport transport_;
  std::shared_ptr<void> slot_;
  std::vector<uint8_t> buffer_;
  size_t filled_ = 0;
  std::vector<uint8_t> writing_;  // in flight
  std::vector<uint8_t> pending_;  // queued behind it, from pending_head_ on
  size_t pending_head_ = 0;       // bytes of pending_ already taken (TLS; compacted as it grows)
  std::deque<size_t> pending_sizes_;  // message boundaries in pending_ (TLS writes one at a time)
  boost::asio::steady_timer allocation_check_;
  bool closed_ = false;
};

using TcpConnection = StreamConnection<boost::asio::ip::tcp::socket>;
using TlsConnection = StreamConnection<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;

extern template class StreamConnection<boost::asio::ip::tcp::socket>;
extern template class StreamConnection<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;

}  // namespace wirebox::turn
