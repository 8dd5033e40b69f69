#include "core/accept_pause.h"

#include <boost/asio/error.hpp>

#include "core/log.h"

namespace wirebox {

bool AcceptPause::needed(const boost::system::error_code& ec, std::string_view listener) {
  namespace error = boost::asio::error;
  bool shortage = ec == error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system ||
                  ec == error::no_buffer_space || ec == error::no_memory;
  if (!shortage) return false;
  auto now = std::chrono::steady_clock::now();
  if (!warned_ || now - last_warning_ >= std::chrono::minutes(1)) {
    warned_ = true;
    last_warning_ = now;
    log::warn(listener, "cannot accept connections: " + ec.message() +
                            " (raise the open files limit, or lower the connection limits); retrying every " +
                            std::to_string(kPause.count()) + " ms");
  }
  return true;
}

}  // namespace wirebox
