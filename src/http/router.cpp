#include "http/router.h"

#include <algorithm>
#include <exception>

#include "core/log.h"

namespace wirebox::http {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool is_capture(const std::string& s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }

}  // namespace

void split_target(std::string_view target, Request& req) {
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (q != std::string_view::npos) req.query = parse_query(target.substr(q + 1));
  req.api_version = 0;
  if (path.size() >= 3 && path[0] == '/' && path[1] == 'v' && path[2] >= '0' && path[2] <= '9') {
    size_t end = path.find('/', 1);
    std::string_view num = path.substr(2, (end == std::string_view::npos ? path.size() : end) - 2);
    bool digits = !num.empty() && num.size() <= 3;
    for (char c : num) digits = digits && c >= '0' && c <= '9';
    if (digits) {
      req.api_version = std::stoi(std::string(num));
      path = end == std::string_view::npos ? std::string_view("/") : path.substr(end);
    }
  }
  req.raw_path = std::string(path);
  // '+' is a literal in paths (RFC 3986); only query strings use it for a space.
  req.path = url_decode(path, false);
}

void Router::add(Verb method, const std::string& pattern, Access access, Handler handler, Exec exec) {
  Route r;
  r.method = method;
  r.segments = split_path(pattern);
  r.access = access;
  r.exec = exec;
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void Router::add_upload(Verb method, const std::string& pattern, Access access, UploadOpener open,
                        uint64_t max_body_bytes) {
  Route r;
  r.method = method;
  r.segments = split_path(pattern);
  r.access = access;
  r.exec = Exec::kBlocking;
  r.open_upload = std::move(open);
  r.max_body_bytes = max_body_bytes;
  routes_.push_back(std::move(r));
  has_uploads_ = true;
  max_upload_body_bytes_ = std::max(max_upload_body_bytes_, max_body_bytes);
}

void Router::add_upgrade(const std::string& pattern, Access access, UpgradeHandler handler) {
  upgrades_.push_back(UpgradeRoute{split_path(pattern), access, std::move(handler)});
}

const UpgradeRoute* Router::match_upgrade(Request& req) const {
  if (upgrades_.empty() || req.method != Verb::get) return nullptr;
  auto segs = split_path(req.raw_path.empty() ? req.path : req.raw_path);
  for (const auto& u : upgrades_) {
    if (u.segments.size() != segs.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      if (is_capture(u.segments[i])) params[u.segments[i].substr(1, u.segments[i].size() - 2)] = url_decode(segs[i], false);
      else ok = u.segments[i] == url_decode(segs[i], false);
    }
    if (!ok) continue;
    req.params = std::move(params);
    return &u;
  }
  return nullptr;
}

std::optional<Response> Router::authenticate(Access access, Request& req) const {
  if (access != Access::kUser) return std::nullopt;
  std::string_view token;
  std::string_view auth = req.header("Authorization");
  if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer ")) {
    token = auth.substr(7);
  } else if (auto it = req.query.find("access_token"); it != req.query.end()) {
    token = it->second;
  }
  if (token.empty()) return error_response(ApiError::unauthorized("Missing access token"));
  if (!verifier_) return error_response(ApiError::internal("No token verifier"));
  auto id = verifier_(token);
  if (!id) return error_response(id.error());
  req.identity = std::move(id.value());
  return std::nullopt;
}

Router::Match Router::match(Request& req) const {
  Match m;
  // Split before decoding: decoding first turned "/users/a%2Fb" into three segments.
  auto segs = split_path(req.raw_path.empty() ? req.path : req.raw_path);
  if (!req.raw_path.empty())
    for (auto& s : segs) s = url_decode(s, false);
  // HEAD is answered by the GET route of the path (the server sends its headers only), unless
  // the path has a HEAD route of its own, for public routes only (pages, deeplink, version):
  // some user routes' GETs are not safe to run for nothing (fetching a prekey claims it).
  const Route* get_for_head = nullptr;
  std::map<std::string, std::string> get_params;
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < segs.size() && ok; ++i) {
      if (is_capture(r.segments[i])) params[r.segments[i].substr(1, r.segments[i].size() - 2)] = segs[i];
      else ok = r.segments[i] == segs[i];
    }
    if (!ok) continue;
    if (r.method != req.method) {
      m.path_known = true;
      if (req.method == Verb::head && r.method == Verb::get && r.access == Access::kPublic && !get_for_head) {
        get_for_head = &r;
        get_params = std::move(params);
      }
      continue;
    }
    req.params = std::move(params);
    m.route = &r;
    return m;
  }
  if (get_for_head) {
    req.params = std::move(get_params);
    m.route = get_for_head;
  }
  return m;
}

Response Router::invoke(const Route& route, Request& req) const {
  try {
    if (auto denied = authenticate(route.access, req)) return std::move(*denied);
    return route.handler(req);
  } catch (const std::exception& e) {
    log::error("http", std::string("handler failed path=") + req.path + " error=" + e.what());
    return error_response(ApiError::internal());
  } catch (...) {
    // Anything else thrown (not derived from std::exception) used to escape into the I/O loop
    // or worker thread and terminate the daemon.
    log::error("http", "handler failed path=" + req.path + " error=unknown exception");
    return error_response(ApiError::internal());
  }
}

}  // namespace wirebox::http
