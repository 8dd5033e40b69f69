// LoopbackUdp: a non-blocking UDP socket bound to 127.0.0.1 on a free port, for tests of the
// relay's socket-level pieces. Owns its descriptor.
#pragma once

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
  // Reads every waiting datagram; returns how many there were.
  size_t drain() const {
    char buf[2048];
    size_t n = 0;
    while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) ++n;
    return n;
  }
};

}  // namespace wirebox::turn::test
