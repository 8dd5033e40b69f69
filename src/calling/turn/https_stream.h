// HttpsStream: the TLS stream of a connection to the HTTPS port, as the HTTP server hands it
// over for TURN on that port (http::TlsStream, spelled out here: the relay does not depend on
// the http module). Its TCP stream is bound to the I/O loop's own executor type.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/rate_policy.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace wirebox::turn {

using HttpsStream = boost::beast::ssl_stream<boost::beast::basic_stream<
    boost::asio::ip::tcp, boost::asio::io_context::executor_type, boost::beast::unlimited_rate_policy>>;

}  // namespace wirebox::turn
