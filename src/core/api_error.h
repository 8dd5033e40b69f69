// ApiError: the Wire-shaped error every module returns across its edge instead of throwing.
// Serialises to {"code","label","message"}; the official client maps on all three (message
// text included), so constructors below use wire-server's exact texts where clients key on them.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

namespace wirebox {

struct ApiError {
  int code = 500;
  std::string label;
  std::string message;

  nlohmann::json to_json() const { return {{"code", code}, {"label", label}, {"message", message}}; }

  static ApiError bad_request(std::string message) { return {400, "bad-request", std::move(message)}; }
  static ApiError not_found(std::string message = "Not found") { return {404, "not-found", std::move(message)}; }
  static ApiError internal(std::string message = "Internal error") {
    return {500, "server-error", std::move(message)};
  }
  // Access token missing/invalid/expired: the client refreshes via POST /access and retries.
  static ApiError unauthorized(std::string message = "Missing or invalid access token") {
    return {401, "missing-auth", std::move(message)};
  }
  // Wrong password: this exact text maps to InvalidCredentialsError in api-client.
  static ApiError authentication_failed() { return {403, "invalid-credentials", "Authentication failed."}; }
};

// Result<T>: a value or an ApiError. Modules return these; HTTP handlers turn errors into
// responses. No exceptions cross module boundaries.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}             // NOLINT(google-explicit-constructor)
  Result(ApiError error) : v_(std::move(error)) {}      // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const ApiError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ApiError> v_;
};

// Status: success or an ApiError, for operations with no value.
class Status {
 public:
  Status() = default;
  Status(ApiError error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  static Status Ok() { return {}; }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const ApiError& error() const { return *error_; }

 private:
  std::optional<ApiError> error_;
};

}  // namespace wirebox
