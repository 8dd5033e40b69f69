// UploadSink: one asset upload in progress. Parses the client's multipart/mixed body as it
// arrives (MultipartReader): part 1 is the JSON metadata {public, retention, domain?}, part 2
// the asset bytes with Content-MD5 (and optionally Content-Length). The bytes go to the TempBlob
// through a ChunkedBlobWriter, which writes and hashes them on the blocking pool and asks the
// connection to pause (wait_for_room) when it is behind; finish() verifies checksum, length
// and part count,
// then commits the file under a new key and records the metadata, and answers 201
// {key, domain, token?, expires?}. Any failure leaves nothing behind (TempBlob's destructor).
// Used as an http::BodySink: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "assets/asset_key.h"
#include "assets/blob_directory.h"
#include "assets/chunked_blob_writer.h"
#include "assets/multipart_reader.h"
#include "http/body_sink.h"

namespace wirebox::assets {

class AssetService;

class UploadSink : public http::BodySink, private PartHandler {
 public:
  // reserved_volume: what the service reserved of the user's hourly volume for this upload;
  // given back when the sink is destroyed.
  UploadSink(AssetService& service, std::string user_id, uint64_t max_asset_bytes, uint64_t reserved_volume,
             std::string boundary, std::unique_ptr<TempBlob> blob, std::unique_ptr<ChunkedBlobWriter> writer);
  ~UploadSink() override;
  UploadSink(const UploadSink&) = delete;
  UploadSink& operator=(const UploadSink&) = delete;

  Status write(const char* data, size_t size) override;
  bool wait_for_room(std::function<void()> resume) override;
  http::Response finish() override;

 private:
  Status begin_part(const std::map<std::string, std::string>& headers) override;
  Status part_data(const char* data, size_t size) override;
  Status end_part() override;
  Status parse_metadata();

  AssetService& service_;
  std::string user_id_;
  uint64_t max_asset_bytes_;
  uint64_t reserved_volume_;
  MultipartReader reader_;
  std::unique_ptr<TempBlob> blob_;
  std::unique_ptr<ChunkedBlobWriter> writer_;  // of blob_'s bytes

  int part_ = 0;  // parts begun so far
  std::string metadata_json_;
  bool is_public_ = false;  // metadata without "public": private, as cargohold
  Retention retention_ = Retention::kPersistent;
  std::string expected_md5_;  // raw 16 bytes from Content-MD5
  std::optional<uint64_t> declared_length_;
  std::string content_type_;
  bool content_complete_ = false;
};

}  // namespace wirebox::assets
