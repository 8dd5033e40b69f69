// AllocationState: the protocol state of one TURN allocation apart from its sockets:
// lifetime, permissions (per peer IP, 300 s, RFC 8656 §9) and channel bindings (600 s,
// §12). Enforces the channel rules: numbers 0x4000-0x4FFF; a number is bound to at most one
// peer endpoint and a peer endpoint to at most one number, for as long as the binding lives
// (rebinding the same pair refreshes it; an expired binding frees both sides). A binding also
// installs/refreshes the permission for its peer address. Times are passed in, so the rules are
// testable without clocks.
//
// Lookups never allocate (small vectors scanned linearly: real calls use a handful of peers).
// Thread safety: none; owned and used by one event loop.
#pragma once

#include <cstdint>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "calling/turn/stun_attributes.h"

namespace wirebox::turn {

inline constexpr int64_t kPermissionLifetimeMs = 300'000;
inline constexpr int64_t kChannelLifetimeMs = 600'000;
inline constexpr size_t kMaxPermissions = 64;
inline constexpr size_t kMaxChannels = 64;

enum class ChannelBindResult { kOk, kBadNumber, kNumberInUse, kPeerInUse, kTooMany };

class AllocationState {
 public:
  explicit AllocationState(int64_t expires_ms) : expires_ms_(expires_ms) {}

  int64_t expires_ms() const { return expires_ms_; }
  void set_expires_ms(int64_t t) { expires_ms_ = t; }
  bool expired(int64_t now_ms) const { return now_ms >= expires_ms_; }

  // Installs or refreshes; false if the permission table is full.
  bool install_permission(const boost::asio::ip::address& peer, int64_t now_ms);
  bool has_permission(const boost::asio::ip::address& peer, int64_t now_ms) const;

  ChannelBindResult bind_channel(uint16_t number, const Endpoint& peer, int64_t now_ms);
  // The live binding's peer for a number / number for a peer; nullptr / 0 if none.
  const Endpoint* channel_peer(uint16_t number, int64_t now_ms) const;
  uint16_t channel_for_peer(const Endpoint& peer, int64_t now_ms) const;

  // Drops expired permissions and bindings.
  void expire(int64_t now_ms);

  size_t permission_count() const { return permissions_.size(); }
  size_t channel_count() const { return channels_.size(); }

 private:
  struct Permission {
    boost::asio::ip::address peer;
    int64_t expires_ms;
  };
  struct Channel {
    uint16_t number;
    Endpoint peer;
    int64_t expires_ms;
  };

  int64_t expires_ms_;
  std::vector<Permission> permissions_;
  std::vector<Channel> channels_;
};

}  // namespace wirebox::turn
