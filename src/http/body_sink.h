// BodySink: where a streamed request body goes instead of memory (asset uploads), and the
// UploadOpener that creates one for an upload route (Router::add_upload).
//
// Lifecycle, for one request:
//   1. the opener runs on the worker pool, after authentication, before any body byte is read;
//      it checks the headers and limits and opens the sink, or returns the error to answer
//      (the body is then discarded, never stored);
//   2. write() runs on the connection's I/O loop for each piece of the body, in order; before
//      each further read the loop asks wait_for_room(), and a sink that is behind (its disk
//      work queued on the pool) makes the connection stop reading until it calls back;
//   3. finish() runs on the worker pool once the whole body has arrived; its Response is sent.
// A sink is used by one thread at a time and destroyed after finish() or as soon as the upload
// fails or the client goes away; destroying it without a successful finish() must leave no
// trace (no file, no row).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "core/api_error.h"
#include "http/request.h"

namespace wirebox::http {

class BodySink {
 public:
  virtual ~BodySink() = default;
  // Runs on an I/O loop: may write to the page cache, must not fsync or wait on a lock held
  // for disk work. An error stops the upload; it is answered and the connection closed.
  virtual Status write(const char* data, size_t size) = 0;
  // Runs on the I/O loop after write(): true if the sink takes more now. Otherwise false, and
  // the sink calls `resume` once (from any thread) when it does; the connection reads nothing
  // meanwhile (TCP flow control then holds the client back). A sink destroyed before that
  // never calls it.
  virtual bool wait_for_room(std::function<void()> resume) {
    (void)resume;
    return true;
  }
  // Runs on the worker pool: commits (fsync, rename, metadata) and returns the answer.
  virtual Response finish() = 0;
};

using UploadOpener = std::function<Result<std::unique_ptr<BodySink>>(Request& req)>;

}  // namespace wirebox::http
