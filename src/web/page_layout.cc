#include "web/page_layout.h"

#include "web/html_escape.h"

namespace scsipub::web {

std::string page_start(std::string_view title, std::string_view description, std::string_view asset_version) {
  std::string out;
  out.reserve(2048);
  out += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
  append_html_escaped(out, title);
  out += "</title>\n<meta name=\"description\" content=\"";
  append_html_escaped(out, description);
  // An empty data: icon: browsers ask for no /favicon.ico (img-src allows data:).
  out += "\">\n<link rel=\"icon\" href=\"data:,\">\n<link rel=\"stylesheet\" href=\"/static/site.css?v=";
  append_html_escaped(out, asset_version);
  out += "\">\n<script src=\"/static/site.js?v=";
  append_html_escaped(out, asset_version);
  out += "\" defer></script>\n</head>\n<body>\n"
         "<a class=\"skip\" href=\"#main\">Skip to content</a>\n"
         "<header class=\"site\"><div class=\"wrap bar\"><a class=\"brand\" href=\"/\">scsipub</a>"
         "<nav aria-label=\"Site\"><a href=\"/#try-it\">Try it</a><a href=\"/#catalog\">Catalog</a>"
         "<a href=\"/#hardware\">Hardware</a><a href=\"/docs/api\">API</a></nav></div></header>\n"
         "<main id=\"main\" class=\"wrap\">\n";
  return out;
}

std::string page_end() {
  return "</main>\n<footer class=\"wrap\"><p>scsipub: iSCSI targets on the public internet. "
         "<a href=\"/docs/api\">Session API</a> · <a href=\"/api/v1/images\">Catalog as JSON</a></p></footer>\n"
         "<p id=\"copy-status\" class=\"visually-hidden\" role=\"status\" aria-live=\"polite\"></p>\n"
         "</body>\n</html>\n";
}

const std::vector<std::pair<std::string, std::string>>& html_security_headers() {
  static const std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Security-Policy", kContentSecurityPolicy},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      // For browsers without CSP frame-ancestors.
      {"X-Frame-Options", "DENY"},
  };
  return headers;
}

}  // namespace scsipub::web
