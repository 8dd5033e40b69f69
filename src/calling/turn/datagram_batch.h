// DatagramBatch: receives datagrams with recvmmsg() from non-blocking UDP sockets into kBatch
// preallocated slots, leaving kHeadroom free bytes before each payload so a ChannelData header
// can be prepended in place (no copy, no per-packet allocation). Receives append to what the
// batch holds until clear(), so datagrams from several sockets can be collected and their
// replies sent together (the payloads stay valid until clear()).
//
// Ownership: owns its buffers (about 64 KiB).
// Thread safety: none; used by one event loop.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "calling/turn/stun_attributes.h"

namespace wirebox::turn {

class DatagramBatch {
 public:
  static constexpr size_t kBatch = 32;
  static constexpr size_t kHeadroom = 64;
  static constexpr size_t kMaxDatagram = 2048 - kHeadroom;

  DatagramBatch();

  // One recvmmsg() on fd into the free slots; returns how many usable datagrams it appended
  // (0 if none, on error, or when full()). Truncated datagrams (larger than kMaxDatagram) use
  // a slot but are skipped and counted in `truncated`.
  size_t receive(int fd, uint64_t& truncated);
  // The last receive() filled every free slot it had, so the socket may hold more.
  bool maybe_more() const { return filled_; }
  bool full() const { return used_slots_ == kBatch; }
  // Usable datagrams held, indexed 0..size()-1 in arrival order.
  size_t size() const { return count_; }
  // Forgets every datagram: their payloads may be overwritten by the next receive().
  void clear() {
    count_ = 0;
    used_slots_ = 0;
  }

  // The i-th received payload; writable, with kHeadroom bytes before data() usable.
  std::span<uint8_t> payload(size_t i) { return {buffers_.data() + slot_offset(valid_[i]) + kHeadroom, sizes_[i]}; }
  const Endpoint& source(size_t i) const { return sources_[i]; }

 private:
  static size_t slot_offset(size_t slot) { return slot * (kHeadroom + kMaxDatagram); }

  std::vector<uint8_t> buffers_;
  std::array<mmsghdr, kBatch> headers_{};
  std::array<iovec, kBatch> iovecs_{};
  std::array<sockaddr_storage, kBatch> addresses_{};
  std::array<size_t, kBatch> valid_{};
  std::array<size_t, kBatch> sizes_{};
  std::array<Endpoint, kBatch> sources_{};
  size_t used_slots_ = 0;
  size_t count_ = 0;
  bool filled_ = false;
};

// DatagramSendBatch: collects datagrams for one socket and sends them with one sendmmsg().
// The payloads are not copied: they must stay valid until flush() (the relay flushes before
// its receive batch is reused). Adding for another socket, or beyond kBatch, flushes first.
// Thread safety: none; used by one event loop.
class DatagramSendBatch {
 public:
  static constexpr size_t kBatch = DatagramBatch::kBatch;

  void add(int fd, const Endpoint& to, std::span<const uint8_t> payload);
  // Sends what was added; returns how many datagrams the kernel refused (buffer full).
  size_t flush();

 private:
  std::array<mmsghdr, kBatch> headers_{};
  std::array<iovec, kBatch> iovecs_{};
  std::array<Endpoint, kBatch> destinations_{};
  size_t count_ = 0;
  int fd_ = -1;
};

// Endpoint ↔ sockaddr for the raw syscalls.
Endpoint endpoint_from_sockaddr(const sockaddr_storage& address);

}  // namespace wirebox::turn
