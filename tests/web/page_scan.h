#pragma once
// Reads back what the page renderers wrote, the way a browser would see it:
// the text of every <code id=...> element, and the copy buttons' targets.
// Only for our own markup (no general HTML parser).
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace scsipub::web::testing {

// The five escapes html_escape produces, undone.
inline std::string html_unescape(std::string_view s) {
  static const std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s[i] == '&') {
      for (const auto& [entity, c] : kEntities) {
        if (s.substr(i, entity.size()) == entity) {
          out += c;
          i += entity.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

struct CodeBlock {
  std::string id;
  std::string command;  // data-command, or empty
  std::string text;     // textContent
};

// Every <code id="..."> element in order.
inline std::vector<CodeBlock> code_blocks(std::string_view html) {
  std::vector<CodeBlock> out;
  constexpr std::string_view kOpen = "<code id=\"";
  for (size_t at = html.find(kOpen); at != std::string_view::npos; at = html.find(kOpen, at + 1)) {
    CodeBlock b;
    size_t id_end = html.find('"', at + kOpen.size());
    size_t tag_end = html.find('>', at);
    size_t close = html.find("</code>", at);
    if (id_end == std::string_view::npos || tag_end == std::string_view::npos || close == std::string_view::npos) break;
    b.id = html_unescape(html.substr(at + kOpen.size(), id_end - at - kOpen.size()));
    std::string_view attrs = html.substr(id_end, tag_end - id_end);
    constexpr std::string_view kCommand = "data-command=\"";
    if (size_t c = attrs.find(kCommand); c != std::string_view::npos) {
      size_t end = attrs.find('"', c + kCommand.size());
      b.command = std::string(attrs.substr(c + kCommand.size(), end - c - kCommand.size()));
    }
    b.text = html_unescape(html.substr(tag_end + 1, close - tag_end - 1));
    out.push_back(std::move(b));
  }
  return out;
}

// The data-copy value of every copy button, in order.
inline std::vector<std::string> copy_targets(std::string_view html) {
  std::vector<std::string> out;
  constexpr std::string_view kButton = "<button type=\"button\" class=\"copy\" data-copy=\"";
  for (size_t at = html.find(kButton); at != std::string_view::npos; at = html.find(kButton, at + 1)) {
    size_t end = html.find('"', at + kButton.size());
    if (end == std::string_view::npos) break;
    out.push_back(html_unescape(html.substr(at + kButton.size(), end - at - kButton.size())));
  }
  return out;
}

// The element with data-image="name": from its opening tag to the next
// </article>. Empty when absent.
inline std::string_view image_article(std::string_view html, std::string_view escaped_name) {
  std::string marker = "data-image=\"";
  marker += escaped_name;
  marker += "\"";
  size_t at = html.find(marker);
  if (at == std::string_view::npos) return {};
  size_t end = html.find("</article>", at);
  return html.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
}

}  // namespace scsipub::web::testing
