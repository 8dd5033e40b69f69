#include "calling/turn/datagram_batch.h"

#include <cstring>

namespace wirebox::turn {

Endpoint endpoint_from_sockaddr(const sockaddr_storage& address) {
  Endpoint e;
  std::memcpy(e.data(), &address, address.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
  return e;
}

DatagramBatch::DatagramBatch() : buffers_(kBatch * (kHeadroom + kMaxDatagram)) {
  for (size_t i = 0; i < kBatch; ++i) {
    iovecs_[i].iov_base = buffers_.data() + slot_offset(i) + kHeadroom;
    iovecs_[i].iov_len = kMaxDatagram;
  }
}

size_t DatagramBatch::receive(int fd, uint64_t& truncated) {
  size_t first = used_slots_;
  size_t free = kBatch - first;
  filled_ = false;
  if (free == 0) return 0;
  for (size_t i = first; i < kBatch; ++i) {
    auto& h = headers_[i].msg_hdr;
    h = {};
    h.msg_name = &addresses_[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &iovecs_[i];
    h.msg_iovlen = 1;
    headers_[i].msg_len = 0;
  }
  int n = ::recvmmsg(fd, headers_.data() + first, static_cast<unsigned>(free), MSG_DONTWAIT, nullptr);
  if (n <= 0) return 0;
  filled_ = static_cast<size_t>(n) == free;
  used_slots_ += static_cast<size_t>(n);
  size_t added = 0;
  for (size_t i = first; i < used_slots_; ++i) {
    if (headers_[i].msg_hdr.msg_flags & MSG_TRUNC) {
      ++truncated;
      continue;
    }
    valid_[count_] = i;
    sizes_[count_] = headers_[i].msg_len;
    sources_[count_] = endpoint_from_sockaddr(addresses_[i]);
    ++count_;
    ++added;
  }
  return added;
}

void DatagramSendBatch::add(int fd, const Endpoint& to, std::span<const uint8_t> payload) {
  if (count_ == kBatch || (count_ && fd != fd_)) flush();
  fd_ = fd;
  destinations_[count_] = to;
  iovecs_[count_] = {const_cast<uint8_t*>(payload.data()), payload.size()};
  auto& h = headers_[count_].msg_hdr;
  h = {};
  h.msg_name = destinations_[count_].data();
  h.msg_namelen = static_cast<socklen_t>(destinations_[count_].size());
  h.msg_iov = &iovecs_[count_];
  h.msg_iovlen = 1;
  ++count_;
}

size_t DatagramSendBatch::flush() {
  size_t done = 0;
  while (done < count_) {
    int n = ::sendmmsg(fd_, headers_.data() + done, static_cast<unsigned>(count_ - done), MSG_DONTWAIT);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  size_t refused = count_ - done;
  count_ = 0;
  return refused;
}

}  // namespace wirebox::turn
