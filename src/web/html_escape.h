#pragma once
// Text into HTML: everything the pages show that came from configuration,
// the images directory or a client (image names, host names, and on the
// operator pages initiator names) goes through here.
#include <string>
#include <string_view>

namespace scsipub::web {

// Escapes & < > " ' so the result is inert both as element text and inside
// a double- or single-quoted attribute value (HTML Living Standard 13.1.2.3,
// 13.2.5.36-38). Every other byte, including invalid UTF-8, passes unchanged:
// the pages are served as UTF-8 and a browser replaces bad sequences with
// U+FFFD, which cannot open markup.
std::string html_escape(std::string_view text);

// Appends the escaped text to `out` (the page renderer builds one string).
void append_html_escaped(std::string& out, std::string_view text);

}  // namespace scsipub::web
