#include "deeplink/deeplink.h"

#include <cctype>

namespace wirebox::deeplink {

namespace {

// RFC 3986 percent-encoding of everything but the unreserved characters (a query value).
std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

// "https://host[:port][/path]" → "wss://host[:port][/path]".
std::string websocket_url(const std::string& public_url) {
  const std::string https = "https://";
  if (public_url.rfind(https, 0) == 0) return "wss://" + public_url.substr(https.size());
  return public_url;
}

http::Response fixed(std::string body, std::string content_type) {
  http::Response r;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

}  // namespace

nlohmann::json deeplink_document(const DeeplinkOptions& o) {
  return {{"endpoints",
           {{"backendURL", o.public_url},
            {"backendWSURL", websocket_url(o.public_url)},
            {"blackListURL", o.public_url + kBlacklistPath},
            {"teamsURL", o.public_url},
            {"accountsURL", o.public_url},
            {"websiteURL", o.public_url}}},
          {"title", o.title}};
}

std::string access_link(const DeeplinkOptions& o) {
  return "wire://access/?config=" + percent_encode(o.public_url + "/deeplink.json");
}

void register_routes(http::Router& router, const DeeplinkOptions& o) {
  std::string json = deeplink_document(o).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  router.add(http::Verb::get, "/deeplink.json", http::Access::kPublic,
             [json](http::Request&) { return fixed(json, "application/json"); }, http::Exec::kInline);

  std::string config_url = html_escape(o.public_url + "/deeplink.json");
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>Connect Wire to " + html_escape(o.title) + "</title>\n</head>\n<body>\n"
      "<h1>Connect Wire to " + html_escape(o.title) + "</h1>\n"
      "<p>On a phone with the Wire app installed, open this link to use this server:</p>\n"
      "<p><a href=\"" + html_escape(access_link(o)) + "\">Use " + html_escape(o.title) + " in Wire</a></p>\n"
      "<p>Backend configuration: <code>" + config_url + "</code></p>\n"
      "</body>\n</html>\n";
  router.add(http::Verb::get, "/deeplink.html", http::Access::kPublic,
             [html](http::Request&) { return fixed(html, "text/html; charset=utf-8"); }, http::Exec::kInline);

  // oldestAccepted 0 and an empty list: no client version is refused.
  std::string blacklist = nlohmann::json{{"oldestAccepted", 0}, {"blacklisted", nlohmann::json::array()}}.dump();
  for (const char* platform : {"android", "ios"}) {
    router.add(http::Verb::get, std::string(kBlacklistPath) + "/" + platform, http::Access::kPublic,
               [blacklist](http::Request&) { return fixed(blacklist, "application/json"); }, http::Exec::kInline);
  }
}

}  // namespace wirebox::deeplink
