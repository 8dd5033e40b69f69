#include "calling/turn/allocation_state.h"

#include <algorithm>

#include "calling/turn/channel_data.h"

namespace wirebox::turn {

bool AllocationState::install_permission(const boost::asio::ip::address& peer, int64_t now_ms) {
  for (auto& p : permissions_) {
    if (p.peer == peer) {
      p.expires_ms = now_ms + kPermissionLifetimeMs;
      return true;
    }
  }
  expire(now_ms);
  if (permissions_.size() >= kMaxPermissions) return false;
  permissions_.push_back({peer, now_ms + kPermissionLifetimeMs});
  return true;
}

bool AllocationState::has_permission(const boost::asio::ip::address& peer, int64_t now_ms) const {
  for (const auto& p : permissions_)
    if (p.peer == peer) return now_ms < p.expires_ms;
  return false;
}

ChannelBindResult AllocationState::bind_channel(uint16_t number, const Endpoint& peer, int64_t now_ms) {
  if (!valid_channel_number(number)) return ChannelBindResult::kBadNumber;
  expire(now_ms);
  Channel* same = nullptr;
  for (auto& c : channels_) {
    bool number_match = c.number == number;
    bool peer_match = c.peer == peer;
    if (number_match && peer_match) same = &c;
    else if (number_match) return ChannelBindResult::kNumberInUse;
    else if (peer_match) return ChannelBindResult::kPeerInUse;
  }
  if (!same && channels_.size() >= kMaxChannels) return ChannelBindResult::kTooMany;
  if (!install_permission(peer.address(), now_ms)) return ChannelBindResult::kTooMany;
  if (same) same->expires_ms = now_ms + kChannelLifetimeMs;
  else channels_.push_back({number, peer, now_ms + kChannelLifetimeMs});
  return ChannelBindResult::kOk;
}

const Endpoint* AllocationState::channel_peer(uint16_t number, int64_t now_ms) const {
  for (const auto& c : channels_)
    if (c.number == number) return now_ms < c.expires_ms ? &c.peer : nullptr;
  return nullptr;
}

uint16_t AllocationState::channel_for_peer(const Endpoint& peer, int64_t now_ms) const {
  for (const auto& c : channels_)
    if (c.peer == peer) return now_ms < c.expires_ms ? c.number : 0;
  return 0;
}

void AllocationState::expire(int64_t now_ms) {
  std::erase_if(permissions_, [&](const Permission& p) { return now_ms >= p.expires_ms; });
  std::erase_if(channels_, [&](const Channel& c) { return now_ms >= c.expires_ms; });
}

}  // namespace wirebox::turn
