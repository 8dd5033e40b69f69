#include "web/static_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <utility>

namespace wirebox::web {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

http::Response not_found() { return http::error_response({404, "not-found", "No such page"}); }

http::Response serve(const std::string& web_root, const std::string& name) {
  if (web_root.empty() || !is_servable_name(name)) return not_found();
  // O_NONBLOCK: a FIFO in the web root would otherwise block this pool thread until a writer
  // came (a few requests held every worker). Regular files ignore the flag.
  int fd = ::open((web_root + "/" + name).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return not_found();
  auto file = std::make_shared<const http::OpenFile>(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return not_found();
  http::Response r;
  r.status = 200;
  r.content_type = std::string(content_type_for(name));
  r.file = http::FileSlice{std::move(file), 0, static_cast<uint64_t>(st.st_size)};
  // The pages change with upgrades and edits: browsers revalidate rather than keep a copy.
  r.with_header("Cache-Control", "no-cache");
  r.with_header("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace

std::string_view content_type_for(std::string_view name) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},     {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"}, {".json", "application/json"},
      {".svg", "image/svg+xml"},                 {".png", "image/png"},
      {".ico", "image/x-icon"},                  {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"}};
  for (const auto& [suffix, type] : kTypes)
    if (ends_with(name, suffix)) return type;
  return "application/octet-stream";
}

bool is_servable_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.'))
      return false;
  return true;
}

void register_routes(http::Router& router, const std::string& web_root) {
  router.add(http::Verb::get, "/", http::Access::kPublic, [web_root](http::Request&) { return serve(web_root, "index.html"); });
  router.add(http::Verb::get, "/web/{file}", http::Access::kPublic,
             [web_root](http::Request& req) { return serve(web_root, req.param("file")); });
}

}  // namespace wirebox::web
