// The box's own web pages, served from one directory (server.web_root; the package installs
// web/ as /usr/share/wirebox/web):
//
//   GET /              <web_root>/index.html (the start page the deep link's teams, accounts and
//                      website URLs point at)
//   GET /web/{file}    any other file directly in <web_root>
//
// Only plain names are served ([A-Za-z0-9_-] first, then also '.'), only regular files, never
// through a symlink, so nothing outside the directory is reachable. Missing files and a
// missing directory are a Wire-shaped 404. Files are read from disk at each request (edits
// show without a restart) and streamed (http::FileSlice). Public routes, run on the pool.
#pragma once

#include <string>
#include <string_view>

#include "http/router.h"

namespace wirebox::web {

// "text/html; charset=utf-8" for .html, etc.; application/octet-stream when unknown.
std::string_view content_type_for(std::string_view file_name);
// A name /web/{file} may serve: no separators, no leading dot, at most 128 characters.
bool is_servable_name(std::string_view file_name);

void register_routes(http::Router& router, const std::string& web_root);

}  // namespace wirebox::web
