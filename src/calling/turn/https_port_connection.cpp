#include "calling/turn/https_port_connection.h"

#include <atomic>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "calling/turn/channel_data.h"
#include "calling/turn/stream_connection.h"

namespace wirebox::turn {

namespace asio = boost::asio;

// The connection as the shard sees it. Lives on the shard's loop except for `backlog`.
class HttpsPortConnection::ShardLink final : public ClientLink {
 public:
  ShardLink(TurnShard& s, ClientAddress a, asio::any_io_executor h, std::weak_ptr<HttpsPortConnection> c)
      : shard(s), address(a), http(std::move(h)), connection(std::move(c)) {}

  void send(std::span<const uint8_t> message) override {
    if (closed) return;
    size_t padded = message.size();
    if (looks_like_channel_data(message)) padded = (padded + 3) & ~size_t{3};
    if (backlog.load(std::memory_order_relaxed) + padded > TlsConnection::kMaxBacklog) return;
    backlog.fetch_add(padded, std::memory_order_relaxed);
    std::vector<uint8_t> copy(padded, 0);
    std::memcpy(copy.data(), message.data(), message.size());
    asio::post(http, [c = connection, copy = std::move(copy)]() mutable {
      if (auto self = c.lock()) self->queue(std::move(copy));
    });
  }
  ClientTransport transport() const override { return ClientTransport::kTls; }

  TurnShard& shard;
  const ClientAddress address;
  const asio::any_io_executor http;
  const std::weak_ptr<HttpsPortConnection> connection;
  std::atomic<size_t> backlog{0};  // bytes posted to or queued on the HTTP loop, not yet written
  bool closed = false;             // on_link_closed ran: the shard forgot this link
};

HttpsPortConnection::HttpsPortConnection(Stream stream, TurnShard& shard, ClientAddress address,
                                         std::shared_ptr<void> connection_slot)
    : stream_(std::move(stream)),
      shard_(shard),
      address_(address),
      shard_done_(stream_.get_executor()),
      allocation_check_(stream_.get_executor()),
      buffer_(TlsConnection::kReadBuffer),
      connection_slot_(std::move(connection_slot)) {}

HttpsPortConnection::~HttpsPortConnection() {
  // Destroyed without close() only when the HTTP loop is torn down: the shard still forgets it.
  if (link_ && !closed_)
    asio::post(shard_.io(), [link = link_] {
      link->closed = true;
      link->shard.on_link_closed(link->address);
    });
}

void HttpsPortConnection::start(std::vector<uint8_t> already_read) {
  link_ = std::make_shared<ShardLink>(shard_, address_, stream_.get_executor(), weak_from_this());
  if (already_read.size() > buffer_.size()) return close();
  std::memcpy(buffer_.data(), already_read.data(), already_read.size());
  filled_ = already_read.size();
  check_allocation_later();
  deliver();
}

void HttpsPortConnection::check_allocation_later() {
  uint32_t grace = shard_.options().stream_allocation_grace_ms;
  if (grace == 0) return;
  allocation_check_.expires_after(std::chrono::milliseconds(grace));
  allocation_check_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_) return;
    // The shard's table is read on the shard's loop; the answer comes back here.
    asio::post(self->shard_.io(), [link = self->link_] {
      bool allocated = link->shard.has_allocation(link->address);
      asio::post(link->http, [c = link->connection, allocated] {
        auto me = c.lock();
        if (!me || me->closed_) return;
        if (!allocated) return me->close();
        me->check_allocation_later();
      });
    });
  });
}

void HttpsPortConnection::read() {
  stream_.async_read_some(asio::buffer(buffer_.data() + filled_, buffer_.size() - filled_),
                          [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                            if (ec || self->closed_) return self->close();
                            self->filled_ += n;
                            self->deliver();
                          });
}

void HttpsPortConnection::deliver() {
  size_t used = 0;
  std::vector<size_t> sizes;
  bool broken = false;
  while (true) {
    size_t frame = stream_frame_size(std::span<const uint8_t>(buffer_.data() + used, filled_ - used));
    if (frame == kFramingError) {
      broken = true;
      break;
    }
    if (frame == 0) break;
    sizes.push_back(frame);
    used += frame;
  }
  if (used == 0) return broken ? close() : read();
  std::vector<uint8_t> batch(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(used));
  std::memmove(buffer_.data(), buffer_.data() + used, filled_ - used);
  filled_ -= used;
  asio::post(shard_.io(), [link = link_, batch = std::move(batch), sizes = std::move(sizes)]() mutable {
    size_t offset = 0;
    for (size_t size : sizes) {
      if (link->closed) break;
      link->shard.on_client_message(std::span<uint8_t>(batch.data() + offset, size), link->address, *link);
      offset += size;
    }
    asio::post(link->http, [c = link->connection] {
      if (auto self = c.lock()) self->shard_done_.cancel();
    });
  });
  if (broken) return close();  // after the batch: the shard answers what came before the garbage
  shard_done_.expires_at(asio::steady_timer::time_point::max());
  shard_done_.async_wait([self = shared_from_this()](boost::system::error_code) {
    if (!self->closed_) self->read();
  });
}

void HttpsPortConnection::queue(std::vector<uint8_t> message) {
  if (closed_) {
    link_->backlog.fetch_sub(message.size(), std::memory_order_relaxed);
    return;
  }
  pending_.push_back(std::move(message));
  if (!writing_) write();
}

// One message per write, so one per TLS record (see StreamConnection).
void HttpsPortConnection::write() {
  writing_ = true;
  asio::async_write(stream_, asio::buffer(pending_.front()),
                    [self = shared_from_this()](boost::system::error_code ec, size_t) {
                      self->link_->backlog.fetch_sub(self->pending_.front().size(), std::memory_order_relaxed);
                      self->pending_.pop_front();
                      self->writing_ = false;
                      if (ec) return self->close();
                      if (!self->pending_.empty() && !self->closed_) self->write();
                    });
}

void HttpsPortConnection::close() {
  if (closed_) return;
  closed_ = true;
  shard_done_.cancel();
  allocation_check_.cancel();
  asio::post(shard_.io(), [link = link_] {
    link->closed = true;
    link->shard.on_link_closed(link->address);
  });
  boost::beast::get_lowest_layer(stream_).close();
}

}  // namespace wirebox::turn
