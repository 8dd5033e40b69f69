// WssClient: a WebSocket-over-TLS test client (Beast), loopback only, every wait bounded.
//
//   test::WssClient ws(port, "/await?access_token=...&client=c1");   // throws on refusal
//   ws.send_text("ping");
//   auto f = ws.read(std::chrono::seconds(2));   // nullopt: nothing within the timeout
//
// Frames are read only inside read()/wait_closed(), so a client that is not asked to read
// behaves like a slow consumer. The server certificate is not verified. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace wirebox::test {

// The server refused the upgrade with an HTTP status (e.g. 401).
struct WsHandshakeError : std::runtime_error {
  WsHandshakeError(int s, const std::string& what) : std::runtime_error(what), status(s) {}
  int status;
};

struct WsFrame {
  std::string data;
  bool text = false;
};

class WssClient {
 public:
  WssClient(uint16_t port, const std::string& target,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~WssClient();
  WssClient(const WssClient&) = delete;
  WssClient& operator=(const WssClient&) = delete;

  void send_text(const std::string& text);
  void send_binary(const std::string& bytes);
  // Writes bytes straight into the TLS stream, bypassing WebSocket framing (garbage frames).
  void send_raw(const std::string& bytes);
  // Writes bytes straight onto the TCP socket, below TLS (garbage TLS records).
  void send_raw_tcp(const std::string& bytes);
  // The next frame, or nullopt if none arrived within timeout or the connection is closed.
  std::optional<WsFrame> read(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // Waits (reading and discarding frames) until the server closes; the close code, or nullopt
  // if still open after timeout. A connection dropped without a close frame gives 1006.
  std::optional<int> wait_closed(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  bool is_open() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wirebox::test
