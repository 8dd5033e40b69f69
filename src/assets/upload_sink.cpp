#include "assets/upload_sink.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "assets/asset_service.h"
#include "core/encoding.h"
#include "core/json_fields.h"
#include "core/log.h"
#include "core/time.h"

namespace wirebox::assets {
namespace {

constexpr size_t kMaxMetadataBytes = 64 * 1024;

// wire-server's texts (cargohold).
ApiError too_large() { return {413, "client-error", "Asset too large."}; }
ApiError invalid_md5() { return {400, "client-error", "Invalid MD5."}; }
ApiError invalid_length() { return {400, "invalid-length", "Invalid content length."}; }

}  // namespace

UploadSink::UploadSink(AssetService& service, std::string user_id, uint64_t max_asset_bytes, uint64_t reserved_volume,
                       std::string boundary, std::unique_ptr<TempBlob> blob, std::unique_ptr<ChunkedBlobWriter> writer)
    : service_(service),
      user_id_(std::move(user_id)),
      max_asset_bytes_(max_asset_bytes),
      reserved_volume_(reserved_volume),
      reader_(std::move(boundary), *this),
      blob_(std::move(blob)),
      writer_(std::move(writer)) {}

UploadSink::~UploadSink() { service_.end_upload(user_id_, reserved_volume_); }

Status UploadSink::write(const char* data, size_t size) { return reader_.feed(data, size); }

bool UploadSink::wait_for_room(std::function<void()> resume) { return writer_->wait_for_room(std::move(resume)); }

Status UploadSink::begin_part(const std::map<std::string, std::string>& headers) {
  ++part_;
  if (part_ == 1) return Status::Ok();  // metadata: JSON whatever its declared type
  if (part_ > 2) return ApiError::bad_request("Malformed multipart body: more than two parts");
  if (Status s = parse_metadata(); !s) return s;
  auto md5 = headers.find("content-md5");
  if (md5 == headers.end()) return ApiError::bad_request("Missing Content-MD5 on the asset part");
  auto raw = base64_decode(md5->second);
  if (!raw || raw->size() != 16) return invalid_md5();
  expected_md5_ = *raw;
  if (auto len = headers.find("content-length"); len != headers.end()) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(len->second.data(), len->second.data() + len->second.size(), n);
    if (ec != std::errc() || end != len->second.data() + len->second.size()) return invalid_length();
    if (n > max_asset_bytes_) return too_large();
    declared_length_ = n;
  }
  auto type = headers.find("content-type");
  content_type_ = type == headers.end() || type->second.empty() ? "application/octet-stream" : type->second;
  if (content_type_.size() > 255) return ApiError::bad_request("Content-Type too long");
  return Status::Ok();
}

Status UploadSink::part_data(const char* data, size_t size) {
  if (part_ == 1) {
    if (metadata_json_.size() + size > kMaxMetadataBytes) return ApiError::bad_request("Asset metadata too large");
    metadata_json_.append(data, size);
    return Status::Ok();
  }
  if (writer_->size() + size > max_asset_bytes_) return too_large();
  if (declared_length_ && writer_->size() + size > *declared_length_) return invalid_length();
  return writer_->append(data, size);
}

Status UploadSink::end_part() {
  if (part_ == 2) content_complete_ = true;
  return Status::Ok();
}

Status UploadSink::parse_metadata() {
  auto meta = json_fields::parse_untrusted(metadata_json_);
  if (meta.is_discarded() || !meta.is_object()) return ApiError::bad_request("Asset metadata is not a JSON object");
  if (auto p = meta.find("public"); p != meta.end() && !p->is_null()) {
    if (!p->is_boolean()) return ApiError::bad_request("public must be a boolean");
    is_public_ = p->get<bool>();
  }
  if (auto r = meta.find("retention"); r != meta.end() && !r->is_null()) {
    if (!r->is_string()) return ApiError::bad_request("retention must be a string");
    auto parsed = parse_retention(r->get<std::string>());
    if (!parsed) return ApiError::bad_request("Unknown retention: " + r->get<std::string>());
    retention_ = *parsed;
  }
  if (auto d = meta.find("domain"); d != meta.end() && !d->is_null()) {
    if (!d->is_string() || d->get<std::string>() != service_.options().domain)
      return ApiError::bad_request("Assets can only be stored on this backend's domain");
  }
  return Status::Ok();
}

http::Response UploadSink::finish() {
  if (Status s = reader_.finish(); !s) return http::error_response(s.error());
  if (part_ < 2 || !content_complete_) return http::error_response(ApiError::bad_request("Malformed multipart body: missing asset part"));
  if (declared_length_ && *declared_length_ != writer_->size()) return http::error_response(invalid_length());
  auto md5 = writer_->finish();
  if (!md5) return http::error_response(md5.error());
  if (*md5 != expected_md5_) return http::error_response(invalid_md5());

  AssetRecord record;
  record.key = new_asset_key(retention_);
  record.owner = user_id_;
  record.is_public = is_public_;
  record.retention = retention_;
  record.size = writer_->size();
  record.md5_base64 = base64_encode(expected_md5_);
  record.content_type = content_type_;
  record.created_ms = now_ms();
  const AssetOptions& o = service_.options();
  if (retention_ == Retention::kVolatile) record.expires_ms = record.created_ms + o.volatile_retention_ms;
  if (retention_ == Retention::kExpiring) record.expires_ms = record.created_ms + o.expiring_retention_ms;
  std::string token;
  if (!is_public_) {
    token = base64url_encode(random_bytes(16));
    record.token_hash = hex_encode(sha256(token));
  }

  if (Status s = service_.blobs().commit(*blob_, record.key); !s) {
    service_.blobs().remove(record.key);
    return http::error_response(s.error());
  }
  if (Status s = service_.store().insert(record); !s) {
    service_.blobs().remove(record.key);
    return http::error_response(s.error());
  }
  service_.note_upload(user_id_, record.size);

  nlohmann::json body = {{"key", record.key}, {"domain", o.domain}};
  if (!token.empty()) body["token"] = token;
  if (record.expires_ms > 0) body["expires"] = iso8601_ms(record.expires_ms);
  http::Response r = http::json_response(201, body);
  r.with_header("Location", "/assets/" + o.domain + "/" + record.key);
  return r;
}

}  // namespace wirebox::assets
