// ClientLink: the way back to one TURN client, whatever its transport. A UDP client is a
// remote endpoint on a listener socket; a TCP/TLS client is its connection. Responses and
// relayed data for the client go through send().
//
// Ownership: UDP links are owned by the shard (one per allocation); stream links are the
// connections themselves, which tell the shard when they close so no allocation outlives them.
// Thread safety: used only on the event loop that owns the client.
#pragma once

#include <cstdint>
#include <span>

#include "calling/turn/relay_options.h"
#include "calling/turn/stun_attributes.h"

namespace wirebox::turn {

class ClientLink {
 public:
  virtual ~ClientLink() = default;
  // Queues or sends one STUN or ChannelData message. Never blocks; drops if the client cannot
  // keep up (UDP semantics, also for streams beyond a bounded backlog). Stream links pad
  // ChannelData to 4 bytes themselves.
  virtual void send(std::span<const uint8_t> message) = 0;
  virtual ClientTransport transport() const = 0;
};

// A UDP client: sendto() on the listener socket it talks to.
class UdpClientLink final : public ClientLink {
 public:
  UdpClientLink(int listener_fd, const Endpoint& client) : fd_(listener_fd), client_(client) {}
  void send(std::span<const uint8_t> message) override;
  ClientTransport transport() const override { return ClientTransport::kUdp; }
  int fd() const { return fd_; }
  const Endpoint& client() const { return client_; }

 private:
  int fd_;
  Endpoint client_;
};

}  // namespace wirebox::turn
