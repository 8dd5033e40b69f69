#include "assets/asset_service.h"

#include <atomic>
#include <charconv>
#include <chrono>
#include <vector>

#include "assets/upload_sink.h"
#include "core/encoding.h"
#include "core/log.h"
#include "core/time.h"
#include "http/metrics.h"

namespace wirebox::assets {
namespace {

// Multipart framing and the metadata part on top of the asset bytes.
constexpr uint64_t kMultipartOverheadBytes = 64 * 1024;
constexpr int64_t kVolumeWindowMs = 3600 * 1000;

struct AssetMetrics {
  http::Counter& uploads = http::Metrics::instance().counter("wirebox_asset_uploads_total", "Assets stored");
  http::Counter& upload_bytes =
      http::Metrics::instance().counter("wirebox_asset_upload_bytes_total", "Bytes of assets stored");
  http::Counter& downloads =
      http::Metrics::instance().counter("wirebox_asset_downloads_total", "Asset downloads started (200/206)");
  http::Counter& expired =
      http::Metrics::instance().counter("wirebox_asset_expired_total", "Assets deleted by the retention sweeper");
  std::atomic<int64_t> stored_bytes{0};
  std::atomic<int64_t> stored_assets{0};
  std::atomic<int64_t> uploads_in_flight{0};

  AssetMetrics() {
    http::Metrics::instance().gauge("wirebox_asset_stored_bytes", "Disk space used by stored assets",
                                    [this] { return static_cast<double>(stored_bytes.load()); });
    http::Metrics::instance().gauge("wirebox_asset_uploads_in_flight", "Asset uploads running",
                                    [this] { return static_cast<double>(uploads_in_flight.load()); });
    http::Metrics::instance().gauge("wirebox_asset_stored", "Stored assets",
                                    [this] { return static_cast<double>(stored_assets.load()); });
  }
  void added(uint64_t bytes) {
    stored_bytes.fetch_add(static_cast<int64_t>(bytes));
    stored_assets.fetch_add(1);
  }
  void removed(uint64_t bytes) {
    stored_bytes.fetch_sub(static_cast<int64_t>(bytes));
    stored_assets.fetch_sub(1);
  }
};

AssetMetrics& metrics() {
  static AssetMetrics m;
  return m;
}

ApiError asset_not_found() { return {404, "not-found", "Asset not found."}; }
ApiError unauthorised() { return {403, "unauthorised", "Unauthorised operation."}; }

struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// One "bytes=a-b" / "bytes=a-" / "bytes=-n" range (RFC 9110 §14.1.2). nullopt: serve it whole
// (no header, or a form we do not honour such as several ranges); an empty range with
// `unsatisfiable` set: answer 416.
std::optional<ByteRange> parse_range(std::string_view header, uint64_t size, bool& unsatisfiable) {
  unsatisfiable = false;
  if (header.substr(0, 6) != "bytes=") return std::nullopt;
  std::string_view spec = header.substr(6);
  if (spec.find(',') != std::string_view::npos) return std::nullopt;
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (a.empty()) {  // suffix: the last n bytes
    uint64_t n = 0;
    if (!parse_u64(b, n)) return std::nullopt;
    if (n == 0 || size == 0) {
      unsatisfiable = true;
      return ByteRange{};
    }
    n = std::min(n, size);
    return ByteRange{size - n, n};
  }
  if (!parse_u64(a, first)) return std::nullopt;
  if (b.empty()) last = size == 0 ? 0 : size - 1;
  else if (!parse_u64(b, last) || last < first) return std::nullopt;
  if (first >= size) {
    unsatisfiable = true;
    return ByteRange{};
  }
  last = std::min(last, size - 1);
  return ByteRange{first, last - first + 1};
}

}  // namespace

AssetService::AssetService(AssetOptions options, AssetStore& store, BlobDirectory& blobs, teams::TeamStore& teams)
    : options_(std::move(options)),
      store_(store),
      blobs_(blobs),
      teams_(teams),
      uploads_per_minute_(options_.uploads_per_minute) {
  auto usage = store_.usage();
  metrics().stored_bytes.store(static_cast<int64_t>(usage.bytes));
  metrics().stored_assets.store(static_cast<int64_t>(usage.assets));
}

AssetService::~AssetService() {
  {
    std::lock_guard<std::mutex> lock(sweeper_mu_);
    stopping_ = true;
  }
  sweeper_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

void AssetService::register_routes(http::Router& router) {
  using http::Access;
  using http::Verb;
  uint64_t max_body = std::max(options_.max_upload_bytes, options_.team_max_upload_bytes) + kMultipartOverheadBytes;
  router.add_upload(Verb::post, "/assets", Access::kUser, [this](http::Request& r) { return open_upload(r); }, max_body);
  router.add(Verb::get, "/assets/{domain}/{key}", Access::kUser, [this](http::Request& r) { return download(r); });
  router.add(Verb::delete_, "/assets/{domain}/{key}", Access::kUser, [this](http::Request& r) { return remove(r); });
  router.add(Verb::post, "/assets/{domain}/{key}/token", Access::kUser,
             [this](http::Request& r) { return renew_token(r); });
  router.add(Verb::delete_, "/assets/{domain}/{key}/token", Access::kUser,
             [this](http::Request& r) { return revoke_token(r); });
}

Result<std::unique_ptr<http::BodySink>> AssetService::open_upload(http::Request& req) {
  const std::string& user = req.identity.user_id;
  auto boundary = MultipartReader::boundary_of(req.header("Content-Type"));
  if (!boundary) return ApiError::bad_request("Expected a multipart/mixed body with a boundary");
  int64_t now = now_ms();
  if (!uploads_per_minute_.allow(user, now)) return ApiError{429, "client-error", "Too many uploads, retry later"};
  uint64_t limit = teams_.teams_of(user).empty() ? options_.max_upload_bytes : options_.team_max_upload_bytes;
  // What this upload may add to the user's volume: its body's length when announced (no
  // asset is longer than its body), else the largest asset allowed.
  uint64_t reserve = limit;
  if (auto len = req.header("Content-Length"); !len.empty()) {
    uint64_t n = 0;
    if (parse_u64(len, n)) {
      if (n > limit + kMultipartOverheadBytes) return ApiError{413, "client-error", "Asset too large."};
      reserve = std::min(n, limit);
    }
  }
  {
    // Refused once what is stored this hour plus what running uploads may still store reaches
    // the limit; the upload that crosses it is let through, as one that starts just below it.
    std::lock_guard<std::mutex> lock(volume_mu_);
    if (uploads_in_flight_ >= options_.max_uploads_in_flight)
      return ApiError{503, "server-busy", "Too many uploads in progress, retry later"};
    auto& w = volume_window(user, now);
    if (w.running >= options_.max_user_uploads_in_flight)
      return ApiError{429, "client-error", "Too many uploads in progress, retry later"};
    if (w.bytes + w.reserved >= options_.upload_bytes_per_hour)
      return ApiError{429, "client-error", "Upload volume limit reached, retry later"};
    w.reserved += reserve;
    ++w.running;
    ++uploads_in_flight_;
    metrics().uploads_in_flight.store(uploads_in_flight_);
  }
  auto blob = blobs_.create_temp();
  if (!blob) {
    end_upload(user, reserve);
    return blob.error();
  }
  ChunkedBlobWriter::Post post;
  {
    std::lock_guard<std::mutex> lock(upload_jobs_mu_);
    post = upload_jobs_post_;
  }
  auto writer = ChunkedBlobWriter::create(blob.value()->fd(), std::move(post));
  if (!writer) {
    end_upload(user, reserve);
    return writer.error();
  }
  return std::unique_ptr<http::BodySink>(std::make_unique<UploadSink>(
      *this, user, limit, reserve, std::move(*boundary), std::move(blob.value()), std::move(writer.value())));
}

AssetService::VolumeWindow& AssetService::volume_window(const std::string& user_id, int64_t now) {
  auto& w = volume_[user_id];
  if (now - w.start_ms >= kVolumeWindowMs) {
    w.start_ms = now;
    w.bytes = 0;
  }
  return w;
}

void AssetService::end_upload(const std::string& user_id, uint64_t reserved) {
  std::lock_guard<std::mutex> lock(volume_mu_);
  auto& w = volume_[user_id];
  w.reserved -= std::min(w.reserved, reserved);
  if (w.running > 0) --w.running;
  if (uploads_in_flight_ > 0) --uploads_in_flight_;
  metrics().uploads_in_flight.store(uploads_in_flight_);
}

void AssetService::run_upload_jobs_on(ChunkedBlobWriter::Post post) {
  std::lock_guard<std::mutex> lock(upload_jobs_mu_);
  upload_jobs_post_ = std::move(post);
}

void AssetService::note_upload(const std::string& user_id, uint64_t bytes) {
  metrics().uploads.inc();
  metrics().upload_bytes.inc(bytes);
  metrics().added(bytes);
  std::lock_guard<std::mutex> lock(volume_mu_);
  volume_window(user_id, now_ms()).bytes += bytes;
}

Result<AssetRecord> AssetService::readable(http::Request& req) {
  if (req.param("domain") != options_.domain || !is_asset_key(req.param("key"))) return asset_not_found();
  auto record = store_.find(req.param("key"));
  if (!record || (record->expires_ms > 0 && record->expires_ms <= now_ms())) return asset_not_found();
  if (record->is_public || record->owner == req.identity.user_id) return *record;
  std::string token;
  if (auto q = req.query_param("asset_token")) token = *q;
  else token = std::string(req.header("Asset-Token"));
  if (!token.empty() && !record->token_hash.empty() && hex_encode(sha256(token)) == record->token_hash) return *record;
  return asset_not_found();
}

Result<AssetRecord> AssetService::owned(http::Request& req) {
  if (req.param("domain") != options_.domain || !is_asset_key(req.param("key"))) return asset_not_found();
  auto record = store_.find(req.param("key"));
  if (!record) return asset_not_found();
  if (record->owner != req.identity.user_id) return unauthorised();
  return *record;
}

http::Response AssetService::download(http::Request& req) {
  auto record = readable(req);
  if (!record) return http::error_response(record.error());
  auto opened = blobs_.open(record->key);
  if (!opened) return http::error_response(asset_not_found());
  auto& [file, size] = *opened;
  std::string etag = "\"" + record->md5_base64 + "\"";
  if (req.header("If-None-Match") == etag) {
    http::Response r = http::empty_response(304);
    r.with_header("ETag", etag);
    return r;
  }
  bool unsatisfiable = false;
  std::optional<ByteRange> range;
  std::string_view range_header = req.header("Range");
  // If-Range with another validator: the client's partial copy is stale, send everything.
  std::string_view if_range = req.header("If-Range");
  if (!range_header.empty() && (if_range.empty() || if_range == etag)) range = parse_range(range_header, size, unsatisfiable);
  if (unsatisfiable) {
    http::Response r = http::error_response({416, "client-error", "Requested range not satisfiable"});
    r.with_header("Content-Range", "bytes */" + std::to_string(size));
    return r;
  }
  http::Response r;
  r.status = range ? 206 : 200;
  r.content_type = record->content_type;
  r.file = http::FileSlice{file, range ? range->first : 0, range ? range->length : size};
  r.with_header("Accept-Ranges", "bytes");
  r.with_header("ETag", etag);
  // The Content-Type is the uploader's text, and the answer comes from the API's own origin:
  // opened in a browser, an "image" that is really HTML with a script could otherwise read
  // the reader's session (its zuid cookie goes to /access from that origin). cargohold serves
  // the bytes from S3, another origin. The official clients fetch assets and decrypt them in
  // code, which none of these headers affects.
  r.with_header("X-Content-Type-Options", "nosniff");
  r.with_header("Content-Security-Policy", "sandbox; default-src 'none'");
  r.with_header("Content-Disposition", "attachment");
  // Assets never change once stored; the key names one immutable blob. Private: it is behind
  // a token or an access token, so shared caches must not keep it.
  r.with_header("Cache-Control", "private, max-age=31536000, immutable");
  if (range)
    r.with_header("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                       std::to_string(range->first + range->length - 1) + "/" + std::to_string(size));
  metrics().downloads.inc();
  return r;
}

http::Response AssetService::remove(http::Request& req) {
  auto record = owned(req);
  if (!record) return http::error_response(record.error());
  auto removed = store_.remove(record->key);
  if (!removed) return http::error_response(removed.error());
  // Row first, then the file: a crash in between leaves an orphan file, which
  // remove_orphans() deletes at the next start, never a row without its bytes.
  blobs_.remove(record->key);
  if (removed.value()) metrics().removed(record->size);
  return http::empty_response(200);
}

http::Response AssetService::renew_token(http::Request& req) {
  auto record = owned(req);
  if (!record) return http::error_response(record.error());
  std::string token = base64url_encode(random_bytes(16));
  if (Status s = store_.set_token_hash(record->key, hex_encode(sha256(token))); !s) return http::error_response(s.error());
  return http::json_response(200, {{"token", token}});
}

http::Response AssetService::revoke_token(http::Request& req) {
  auto record = owned(req);
  if (!record) return http::error_response(record.error());
  if (Status s = store_.set_token_hash(record->key, ""); !s) return http::error_response(s.error());
  return http::empty_response(200);
}

size_t AssetService::remove_orphans() {
  std::vector<std::string> orphans;
  blobs_.for_each_key([&](const std::string& key) {
    if (!store_.exists(key)) orphans.push_back(key);
  });
  for (const auto& key : orphans) blobs_.remove(key);
  return orphans.size();
}

size_t AssetService::sweep(int64_t now) {
  size_t swept = 0;
  for (;;) {
    auto batch = store_.expired(now, 256);
    if (batch.empty()) break;
    for (const auto& record : batch) {
      auto removed = store_.remove(record.key);
      if (!removed) {
        log::error("assets", "sweep failed key=" + record.key + " error=" + removed.error().message);
        return swept;
      }
      blobs_.remove(record.key);
      if (removed.value()) {
        metrics().removed(record.size);
        metrics().expired.inc();
        ++swept;
      }
    }
  }
  return swept;
}

void AssetService::start_sweeper() {
  sweeper_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(sweeper_mu_);
    while (!stopping_) {
      lock.unlock();
      size_t n = sweep(now_ms());
      if (n > 0) log::info("assets", "expired assets removed count=" + std::to_string(n));
      lock.lock();
      sweeper_cv_.wait_for(lock, std::chrono::seconds(options_.sweep_interval_seconds), [this] { return stopping_; });
    }
  });
}

}  // namespace wirebox::assets
