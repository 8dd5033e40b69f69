#include "admin/admin_client.h"

#include <openssl/evp.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "admin/admin_server.h"
#include "core/encoding.h"

namespace wirebox::admin {
namespace net = boost::asio;
using local = net::local::stream_protocol;
using nlohmann::json;

namespace {
ApiError unreachable(const std::string& why) { return {503, "daemon-unreachable", why}; }
}  // namespace

struct AdminClient::Impl {
  net::io_context ioc;
  local::socket socket{ioc};
  std::string path;
  std::string in;  // bytes read past the last response line

  // Runs the started async operation until it completes or the timeout passes.
  boost::system::error_code wait(boost::system::error_code& result, std::chrono::milliseconds timeout) {
    ioc.restart();
    ioc.run_for(timeout);
    if (result == net::error::would_block) {
      boost::system::error_code ignored;
      socket.close(ignored);
      ioc.restart();
      ioc.run();
      return net::error::timed_out;
    }
    return result;
  }

  Result<json> request(const std::string& command, const json& args, std::chrono::milliseconds timeout) {
    if (!socket.is_open()) return unreachable("not connected");
    std::string line = json{{"command", command}, {"args", args}}.dump() + "\n";
    boost::system::error_code result = net::error::would_block;
    net::async_write(socket, net::buffer(line), [&](boost::system::error_code ec, size_t) { result = ec; });
    if (auto ec = wait(result, timeout)) return unreachable("cannot send to " + path + ": " + ec.message());
    result = net::error::would_block;
    size_t n = 0;
    net::async_read_until(socket, net::dynamic_buffer(in, size_t{64} << 20), '\n',
                          [&](boost::system::error_code ec, size_t got) {
                            result = ec;
                            n = got;
                          });
    if (auto ec = wait(result, timeout)) {
      if (ec == net::error::timed_out) return unreachable("the daemon did not answer within the timeout");
      return unreachable("the daemon closed the admin connection: " + ec.message());
    }
    json response = json::parse(in.substr(0, n - 1), nullptr, false);
    in.erase(0, n);
    if (response.is_discarded() || !response.is_object() || !response.contains("ok"))
      return ApiError::internal("malformed response from the daemon");
    if (!response["ok"].get<bool>()) {
      const json& e = response["error"];
      return ApiError{e.value("code", 500), e.value("label", "server-error"), e.value("message", "")};
    }
    return response["result"];
  }
};

AdminClient::AdminClient() : impl_(std::make_unique<Impl>()) {}
AdminClient::~AdminClient() = default;

Status AdminClient::connect(const std::string& socket_path, std::chrono::milliseconds timeout) {
  impl_->path = socket_path;
  local::endpoint endpoint;
  try {
    endpoint = local::endpoint(socket_path);
  } catch (const std::exception&) {
    return unreachable("admin socket path too long: " + socket_path);
  }
  boost::system::error_code result = net::error::would_block;
  impl_->socket.async_connect(endpoint, [&](boost::system::error_code ec) { result = ec; });
  auto ec = impl_->wait(result, timeout);
  if (!ec) return {};
  if (ec == net::error::access_denied || ec == boost::system::errc::permission_denied ||
      ec == boost::system::errc::operation_not_permitted)
    return unreachable("permission denied on " + socket_path + " (run as root or as a member of the wirebox group)");
  if (ec == boost::system::errc::no_such_file_or_directory || ec == net::error::connection_refused)
    return unreachable("no daemon is listening on " + socket_path + " (is wireboxd running? is --socket right?)");
  return unreachable("cannot connect to " + socket_path + ": " + ec.message());
}

Result<json> AdminClient::call(const std::string& command, const json& args, std::chrono::milliseconds timeout) {
  auto r = impl_->request(command, args, timeout);
  if (r && r->is_object() && r->contains("stream_bytes"))
    return ApiError::internal("unexpected streamed response to " + command);
  return r;
}

Result<json> AdminClient::call_streaming(const std::string& command, const json& args,
                                         const std::function<bool(const char*, size_t)>& sink,
                                         std::chrono::milliseconds timeout) {
  auto r = impl_->request(command, args, timeout);
  if (!r) return r;
  if (!r->is_object() || !(*r)["stream_bytes"].is_number_unsigned() || !(*r)["stream_sha256"].is_string())
    return ApiError::internal("the daemon announced no body for " + command);
  uint64_t remaining = (*r)["stream_bytes"];
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  auto consume = [&](const char* data, size_t n) -> bool {
    EVP_DigestUpdate(ctx.get(), data, n);
    remaining -= n;
    return sink(data, n);
  };
  if (!impl_->in.empty()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(remaining, impl_->in.size()));
    if (!consume(impl_->in.data(), n)) return ApiError::internal("writing the body failed");
    impl_->in.erase(0, n);
  }
  std::string buf(256 * 1024, '\0');
  while (remaining > 0) {
    boost::system::error_code result = net::error::would_block;
    size_t got = 0;
    impl_->socket.async_read_some(net::buffer(buf.data(), static_cast<size_t>(std::min<uint64_t>(remaining, buf.size()))),
                                  [&](boost::system::error_code ec, size_t n) {
                                    result = ec;
                                    got = n;
                                  });
    if (auto ec = impl_->wait(result, timeout))
      return unreachable("the transfer broke off with " + std::to_string(remaining) + " bytes left: " + ec.message());
    if (!consume(buf.data(), got)) return ApiError::internal("writing the body failed");
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  if (hex_encode(std::string_view(reinterpret_cast<const char*>(md), len)) != (*r)["stream_sha256"].get<std::string>())
    return ApiError::internal("the transferred body does not match its announced SHA-256");
  return r;
}

}  // namespace wirebox::admin
