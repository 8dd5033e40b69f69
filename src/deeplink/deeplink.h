// Custom-backend configuration for the official Wire clients, so that one DNS name is all a
// user needs (Wire's own deployment uses seven).
//
//   GET /deeplink.json              {"endpoints":{backendURL, backendWSURL, blackListURL,
//                                    teamsURL, accountsURL, websiteURL}, "title"}
//   GET /deeplink.html              a page with the wire://access/?config=<deeplink.json URL>
//                                    link the mobile apps open
//   GET /client-blacklist/android   {"oldestAccepted":0,"blacklisted":[]}: the clients fetch
//   GET /client-blacklist/ios        <blackListURL>/<platform> and refuse to run on a version
//                                    listed there; wirebox blocks no client version.
//
// Every URL is the box's public URL (or its wss:// twin). The pages the clients open in a
// browser (teams, accounts, website) have no counterpart in wirebox yet, so they point at the
// box's own start page. All routes are public, answered inline from bodies built once.
#pragma once

#include <string>

#include "http/router.h"

namespace wirebox::deeplink {

struct DeeplinkOptions {
  std::string public_url;  // "https://chat.example.com" (no trailing slash)
  std::string title;       // the name clients show for this backend
};

inline constexpr const char* kBlacklistPath = "/client-blacklist";

// The deeplink.json document for these options.
nlohmann::json deeplink_document(const DeeplinkOptions& options);
// "wire://access/?config=<percent-encoded <public_url>/deeplink.json>".
std::string access_link(const DeeplinkOptions& options);

void register_routes(http::Router& router, const DeeplinkOptions& options);

}  // namespace wirebox::deeplink
