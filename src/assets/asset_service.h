// AssetService: Wire's asset store on the local disk — streamed uploads of the client's
// multipart body, downloads with Range and caching headers, deletion, asset tokens for private
// assets, and the retention sweeper. Bytes live in a BlobDirectory, metadata in an AssetStore;
// the service never looks inside an asset (clients encrypt them).
//
// Visibility, as wire-server's cargohold: a public asset is readable by every authenticated
// user; a private one by its uploader and by whoever presents its token (`asset_token` query
// parameter or `Asset-Token` header); anyone else gets 404, the same as for a missing asset,
// so keys cannot be probed. Only the uploader may delete an asset or renew/revoke its token.
//
// Thread-safe. The sweeper thread runs from start_sweeper() until destruction.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "assets/asset_store.h"
#include "assets/blob_directory.h"
#include "auth/rate_limiter.h"
#include "assets/chunked_blob_writer.h"
#include "http/body_sink.h"
#include "http/router.h"
#include "teams/team_store.h"

namespace wirebox::assets {

struct AssetOptions {
  std::string domain;
  uint64_t max_upload_bytes = 25ull << 20;       // personal users, as Wire
  uint64_t team_max_upload_bytes = 100ull << 20;  // members of a team, as Wire
  int64_t volatile_retention_ms = 28LL * 24 * 3600 * 1000;
  int64_t expiring_retention_ms = 28LL * 24 * 3600 * 1000;
  int uploads_per_minute = 60;                    // per user
  // Uploads running at once: each holds a connection, a temporary file and up to three
  // 512 KiB chunk buffers until it ends, however slowly its bytes come.
  int max_uploads_in_flight = 128;                // all users together; beyond: 503
  int max_user_uploads_in_flight = 16;            // per user (a few files dropped at once); beyond: 429
  uint64_t upload_bytes_per_hour = 4ull << 30;    // per user
  int sweep_interval_seconds = 3600;
};

class AssetService {
 public:
  AssetService(AssetOptions options, AssetStore& store, BlobDirectory& blobs, teams::TeamStore& teams);
  ~AssetService();
  AssetService(const AssetService&) = delete;
  AssetService& operator=(const AssetService&) = delete;

  void register_routes(http::Router& router);

  // Deletes files that have no metadata row (an upload or delete a crash interrupted between
  // the file and the row). Call at start-up, before serving. Returns how many were removed.
  size_t remove_orphans();
  // Deletes every asset whose retention expired at now_ms; returns how many.
  size_t sweep(int64_t now_ms);
  void start_sweeper();

  // Where uploads' chunks are written and hashed while their bytes arrive (the daemon's
  // blocking pool, once it runs); until this is called (or after it is called with an empty
  // function), each chunk is written and hashed by the thread that fills it.
  void run_upload_jobs_on(ChunkedBlobWriter::Post post);

  // Used by the upload sink once an asset is committed: the bytes count against the user's
  // hourly volume.
  void note_upload(const std::string& user_id, uint64_t bytes);
  // Used by the upload sink when it ends, committed or not: gives back its place among the
  // uploads in flight and what open_upload() reserved of the user's hourly volume for it.
  void end_upload(const std::string& user_id, uint64_t reserved);
  const AssetOptions& options() const { return options_; }
  AssetStore& store() { return store_; }
  BlobDirectory& blobs() { return blobs_; }

 private:
  Result<std::unique_ptr<http::BodySink>> open_upload(http::Request& req);
  http::Response download(http::Request& req);
  http::Response remove(http::Request& req);
  http::Response renew_token(http::Request& req);
  http::Response revoke_token(http::Request& req);
  // The asset named by the path if the caller may read it; 404 otherwise.
  Result<AssetRecord> readable(http::Request& req);
  // The asset named by the path if the caller owns it; 404 / 403 otherwise.
  Result<AssetRecord> owned(http::Request& req);

  AssetOptions options_;
  AssetStore& store_;
  BlobDirectory& blobs_;
  teams::TeamStore& teams_;
  auth::RateLimiter uploads_per_minute_;

  std::mutex upload_jobs_mu_;
  ChunkedBlobWriter::Post upload_jobs_post_;

  // Per user: bytes stored in the current one-hour window, and bytes reserved by uploads still
  // running (their Content-Length, or the largest upload allowed), so that uploads side by side
  // cannot all start under the limit and together go far past it; and the uploads running.
  std::mutex volume_mu_;
  struct VolumeWindow {
    int64_t start_ms = 0;
    uint64_t bytes = 0;
    uint64_t reserved = 0;  // not windowed: held until each running upload ends
    int running = 0;        // not windowed either
  };
  int uploads_in_flight_ = 0;  // under volume_mu_, all users
  std::unordered_map<std::string, VolumeWindow> volume_;
  // Under volume_mu_: the user's window, started anew when the hour is over.
  VolumeWindow& volume_window(const std::string& user_id, int64_t now);

  std::mutex sweeper_mu_;
  std::condition_variable sweeper_cv_;
  bool stopping_ = false;
  std::thread sweeper_;
};

}  // namespace wirebox::assets
