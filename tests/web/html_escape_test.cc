#include "web/html_escape.h"

#include <gtest/gtest.h>

#include <string>

namespace scsipub::web {
namespace {

TEST(HtmlEscape, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(html_escape("&"), "&amp;");
  EXPECT_EQ(html_escape("<"), "&lt;");
  EXPECT_EQ(html_escape(">"), "&gt;");
  EXPECT_EQ(html_escape("\""), "&quot;");
  EXPECT_EQ(html_escape("'"), "&#39;");
  EXPECT_EQ(html_escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

TEST(HtmlEscape, MarkupBecomesText) {
  EXPECT_EQ(html_escape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(html_escape("\" onmouseover=\"x"), "&quot; onmouseover=&quot;x");
  EXPECT_EQ(html_escape("' autofocus onfocus='x"), "&#39; autofocus onfocus=&#39;x");
  // Already-escaped text is escaped again: what is shown is what was sent.
  EXPECT_EQ(html_escape("&lt;"), "&amp;lt;");
}

TEST(HtmlEscape, LeavesEverythingElseAlone) {
  EXPECT_EQ(html_escape(""), "");
  EXPECT_EQ(html_escape("iqn.2025-01.pub.scsipub:image.debian-12"), "iqn.2025-01.pub.scsipub:image.debian-12");
  EXPECT_EQ(html_escape("caf\xc3\xa9 \xff\xfe"), "caf\xc3\xa9 \xff\xfe");  // bytes pass, valid or not
  const std::string with_nul("a\0b", 3);
  EXPECT_EQ(html_escape(with_nul), with_nul);
}

TEST(HtmlEscape, AppendsToWhatIsThere) {
  std::string out = "<p>";
  append_html_escaped(out, "1 < 2");
  EXPECT_EQ(out, "<p>1 &lt; 2");
}

}  // namespace
}  // namespace scsipub::web
