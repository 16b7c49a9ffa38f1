#pragma once
// The frame every public HTML page shares: head (stylesheet, script, no
// inline code), header with navigation, footer; and the header fields every
// HTML answer carries (Content-Security-Policy and friends).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scsipub::web {

// Appended to each other to make a page: page_start(...) + content + page_end().
// `title` is escaped; `asset_version` is appended to the static URLs so a
// changed stylesheet or script is fetched anew despite long caching.
std::string page_start(std::string_view title, std::string_view description, std::string_view asset_version);
std::string page_end();

// Content-Security-Policy (no inline script or style, nothing from other
// origins), X-Content-Type-Options, Referrer-Policy, X-Frame-Options.
const std::vector<std::pair<std::string, std::string>>& html_security_headers();

inline constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

}  // namespace scsipub::web
