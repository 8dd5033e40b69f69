#include "calling/turn/stream_connection.h"

#include <boost/asio/write.hpp>

#include "calling/turn/channel_data.h"

namespace wirebox::turn {

namespace {

boost::asio::ip::tcp::socket& lowest_layer(boost::asio::ip::tcp::socket& s) { return s; }
boost::asio::ip::tcp::socket& lowest_layer(boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& s) {
  return s.next_layer();
}

}  // namespace

template <class Stream>
void StreamConnection<Stream>::start() {
  boost::system::error_code ignored;
  lowest_layer(stream_).set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  check_allocation_later();
  if constexpr (std::is_same_v<Stream, boost::asio::ip::tcp::socket>) {
    read();
  } else {
    stream_.async_handshake(boost::asio::ssl::stream_base::server,
                            [self = this->shared_from_this()](boost::system::error_code ec) {
                              if (ec) return self->close();
                              self->read();
                            });
  }
}

template <class Stream>
void StreamConnection<Stream>::read() {
  stream_.async_read_some(
      boost::asio::buffer(buffer_.data() + filled_, buffer_.size() - filled_),
      [self = this->shared_from_this()](boost::system::error_code ec, size_t n) {
        if (ec || self->closed_) return self->close();
        self->filled_ += n;
        size_t used = 0;
        while (true) {
          std::span<uint8_t> rest(self->buffer_.data() + used, self->filled_ - used);
          size_t frame = stream_frame_size(rest);
          if (frame == kFramingError) return self->close();
          if (frame == 0) break;
          self->shard_.on_client_message(rest.first(frame), self->address_, *self);
          if (self->closed_) return;
          used += frame;
        }
        std::memmove(self->buffer_.data(), self->buffer_.data() + used, self->filled_ - used);
        self->filled_ -= used;
        // A frame larger than the buffer so far: grow it (up to the largest frame).
        if (self->filled_ == self->buffer_.size()) self->buffer_.resize(std::min(kReadBuffer, self->buffer_.size() * 4));
        self->read();
      });
}

template <class Stream>
void StreamConnection<Stream>::send(std::span<const uint8_t> message) {
  if (closed_) return;
  size_t padded = message.size();
  if (looks_like_channel_data(message)) padded = (padded + 3) & ~size_t{3};
  if (pending_.size() - pending_head_ + padded > kMaxBacklog) return;
  pending_.insert(pending_.end(), message.begin(), message.end());
  pending_.resize(pending_.size() + (padded - message.size()), 0);
  pending_sizes_.push_back(padded);
  if (writing_.empty()) write();
}

template <class Stream>
void StreamConnection<Stream>::write() {
  if constexpr (std::is_same_v<Stream, boost::asio::ip::tcp::socket>) {
    writing_.swap(pending_);
    pending_sizes_.clear();
  } else {
    // One message per record. Taking it from the front by erasing moved the whole backlog
    // for each message (a full 1 MiB backlog of tiny messages: seconds of CPU); the head
    // offset moves instead, and the taken bytes are dropped once they are half of the buffer.
    size_t first = pending_sizes_.front();
    pending_sizes_.pop_front();
    auto begin = pending_.begin() + static_cast<std::ptrdiff_t>(pending_head_);
    writing_.assign(begin, begin + static_cast<std::ptrdiff_t>(first));
    pending_head_ += first;
    if (pending_head_ == pending_.size()) {
      pending_.clear();
      pending_head_ = 0;
    } else if (pending_head_ >= pending_.size() / 2) {
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pending_head_));
      pending_head_ = 0;
    }
  }
  boost::asio::async_write(stream_, boost::asio::buffer(writing_),
                           [self = this->shared_from_this()](boost::system::error_code ec, size_t) {
                             if (ec) return self->close();
                             self->writing_.clear();
                             if (self->pending_.size() > self->pending_head_ && !self->closed_) self->write();
                           });
}

template <class Stream>
void StreamConnection<Stream>::check_allocation_later() {
  uint32_t grace = shard_.options().stream_allocation_grace_ms;
  if (grace == 0) return;
  allocation_check_.expires_after(std::chrono::milliseconds(grace));
  allocation_check_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closed_) return;
    if (!self->shard_.has_allocation(self->address_)) return self->close();
    self->check_allocation_later();
  });
}

template <class Stream>
void StreamConnection<Stream>::close() {
  if (closed_) return;
  closed_ = true;
  allocation_check_.cancel();
  shard_.on_link_closed(address_);
  boost::system::error_code ignored;
  lowest_layer(stream_).close(ignored);
}

template class StreamConnection<boost::asio::ip::tcp::socket>;
template class StreamConnection<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;

}  // namespace wirebox::turn
