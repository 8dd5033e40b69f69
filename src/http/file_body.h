// FileSliceBody: a Beast body type that sends a byte range of an open file in fixed-size
// chunks (pread), so a response of any size costs one chunk buffer, never the whole file.
// Handlers set Response::file (see request.h); the server picks this body type for it.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include "http/request.h"

namespace wirebox::http {

struct FileSliceBody {
  using value_type = FileSlice;

  static std::uint64_t size(const value_type& v) { return v.length; }

  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;

    template <bool isRequest, class Fields>
    writer(const boost::beast::http::header<isRequest, Fields>&, const value_type& v)
        : slice_(v), position_(v.offset), left_(v.length) {}

    void init(boost::beast::error_code& ec);
    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec);

   private:
    // 64 KiB: four full TLS records per read, few syscalls, and still small per connection.
    static constexpr size_t kChunkBytes = 64 * 1024;
    const value_type& slice_;
    std::uint64_t position_;
    std::uint64_t left_;
    std::unique_ptr<char[]> chunk_;
  };
};

}  // namespace wirebox::http
