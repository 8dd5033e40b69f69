// Request-body decompression. The official client gzips every JSON body; the size limit
// applies to the decompressed bytes so a small bomb cannot expand past it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wirebox::http {

enum class GunzipResult { kOk, kTooLarge, kCorrupt };

// Inflates a gzip member into out, stopping with kTooLarge as soon as out would exceed limit.
GunzipResult gunzip(std::string_view compressed, size_t limit, std::string& out);

// Compresses (used by tests and by clients we write ourselves).
std::string gzip(std::string_view plain);

}  // namespace wirebox::http
