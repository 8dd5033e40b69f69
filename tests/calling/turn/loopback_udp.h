// LoopbackUdp: a non-blocking UDP socket bound to 127.0.0.1 on a free port, for tests of the
// relay's socket-level pieces and as a relay peer. Owns its descriptor.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <boost/asio/ip/address.hpp>

#include "calling/turn/stun_attributes.h"

namespace wirebox::turn::test {

struct LoopbackUdp {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  Endpoint local;

  LoopbackUdp() {
    Endpoint any(boost::asio::ip::make_address("127.0.0.1"), 0);
    ::bind(fd, any.data(), any.size());
    socklen_t len = static_cast<socklen_t>(local.capacity());
    ::getsockname(fd, local.data(), &len);
  }
  ~LoopbackUdp() { ::close(fd); }
  LoopbackUdp(const LoopbackUdp&) = delete;
  LoopbackUdp& operator=(const LoopbackUdp&) = delete;

  void send(const LoopbackUdp& to, const std::string& text = "x") const {
    ::sendto(fd, text.data(), text.size(), 0, to.local.data(), to.local.size());
  }
  // The next datagram within timeout_ms, its sender in `from`; empty if none came.
  std::string receive(Endpoint& from, int timeout_ms = 5000) const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return {};
    char buf[2048];
    socklen_t len = static_cast<socklen_t>(from.capacity());
    ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, from.data(), &len);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
  // Reads every waiting datagram; returns how many there were.
  size_t drain() const {
    char buf[2048];
    size_t n = 0;
    while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) ++n;
    return n;
  }
};

}  // namespace wirebox::turn::test
