// TurnTestSession: the long-term-credential half of a test TURN client, whatever transport
// carries it (UDP, TLS): builds each request (authenticated once a 401 taught realm and nonce),
// hands it to `exchange` (request bytes in, the answer's bytes out) and reads the answer.
#pragma once

#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "calling/turn/stun_attributes.h"
#include "calling/turn/stun_integrity.h"
#include "calling/turn/stun_message.h"
#include "calling/turn/stun_message_writer.h"

namespace wirebox::test {

using namespace wirebox::turn;

struct TurnTestSession {
  std::string username, password, realm, nonce;
  uint32_t next_id = 1;
  std::vector<uint8_t> last;  // the last answer's bytes; `response` points into them
  StunMessage response;

  // The answer's error code: 0 for success, -1 for no STUN answer, -2 for another transaction's.
  template <class Exchange, class Fill>
  int request(StunMethod method, Fill fill, Exchange exchange) {
    uint8_t buf[1024];
    TransactionId id{};
    uint32_t n = next_id++;
    std::memcpy(id.data(), &n, sizeof n);
    StunMessageWriter w(buf, static_cast<uint16_t>(method), StunClass::kRequest, id);
    fill(w);
    if (!nonce.empty()) {
      w.add_text(attr::kUsername, username);
      w.add_text(attr::kRealm, realm);
      w.add_text(attr::kNonce, nonce);
      w.add_message_integrity(long_term_key(username, realm, password), IntegrityAlgorithm::kSha1);
    }
    w.add_fingerprint();
    last = exchange(w.bytes());
    if (StunMessage::parse(last, response) != StunParseStatus::kOk) return -1;
    if (response.transaction_id() != id) return -2;
    if (response.message_class() == StunClass::kSuccessResponse) return 0;
    const StunAttribute* code = response.find(attr::kErrorCode);
    auto err = code ? decode_error_code(code->value) : std::nullopt;
    if (const StunAttribute* a = response.find(attr::kNonce)) nonce = std::string(a->text());
    if (const StunAttribute* a = response.find(attr::kRealm)) realm = std::string(a->text());
    return err ? err->code : -1;
  }

  // Allocate for UDP relaying, answering the 401 challenge once.
  template <class Exchange>
  int allocate(Exchange exchange) {
    auto fill = [](StunMessageWriter& w) { w.add_u32(attr::kRequestedTransport, uint32_t{kTransportUdp} << 24); };
    int code = request(StunMethod::kAllocate, fill, exchange);
    return code == 401 && !nonce.empty() ? request(StunMethod::kAllocate, fill, exchange) : code;
  }
};

}  // namespace wirebox::test
