#pragma once
// Text into HTML: every string that reaches a page (and above all what an
// initiator sent: InitiatorName, TargetName, CHAP names) goes through this,
// in element content and in quoted attribute values alike.
#include <string>
#include <string_view>

namespace scsipub::web {

// Escapes & < > " ' (enough for element content and for attribute values
// in double or single quotes; never use it for unquoted attributes, URLs or
// script).
inline std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace scsipub::web
