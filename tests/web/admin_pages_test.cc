// The dashboard's HTML without a server: escaping, formatting, selectors.
#include "web/admin_pages.h"

#include <gtest/gtest.h>

#include "web/html_escape.h"

namespace scsipub::web {
namespace {

TEST(HtmlEscape, EscapesTheFiveCharacters) {
  EXPECT_EQ(html_escape("<a href=\"x\" title='y'>&amp;</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
  EXPECT_EQ(html_escape("plain iqn.2025-01.pub.scsipub:x"), "plain iqn.2025-01.pub.scsipub:x");
  EXPECT_EQ(html_escape(""), "");
}

TEST(AdminFormat, BytesAndTimes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(64ull << 20), "64.0 MiB");
  EXPECT_EQ(format_bytes(~0ull), "16.0 EiB");
  EXPECT_EQ(format_time_ms(0), "1970-01-01 00:00:00 UTC");
  EXPECT_EQ(format_time_ms(1'765'065'901'999), "2025-12-07 00:05:01 UTC");
}

TEST(AdminPages, DashboardHasTheContractSelectorsEvenWhenEmpty) {
  control::OperatorSnapshot empty;
  const std::string html = render_dashboard(empty, "c0ffee");
  for (const char* needle : {"<table id=\"sessions\">", "<section id=\"discovery\"", "<section id=\"disks\"",
                             "<section id=\"catalog-admin\"", "<section id=\"limits\"", "<section id=\"refused\"", "<table id=\"retained-table\">",
                             "<meta name=\"csrf-token\" content=\"c0ffee\">",
                             "<script src=\"/static/admin.js\" defer></script>"}) {
    EXPECT_NE(html.find(needle), std::string::npos) << needle;
  }
  EXPECT_EQ(html.find("tr data-session-id"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"empty\" data-empty-for=\"sessions\">None.</p>"), std::string::npos);
}

TEST(AdminPages, EverySessionRowHasItsIdInitiatorCellAndEndButton) {
  control::OperatorSnapshot snap;
  control::LiveSession s;
  s.id = 42;
  s.initiator_name = "iqn.a'b";
  snap.sessions.push_back(s);
  const std::string html = render_dashboard(snap, "t");
  EXPECT_NE(html.find("<tr data-session-id=\"42\">"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"initiator\">iqn.a&#39;b</td>"), std::string::npos);
  EXPECT_NE(html.find("action=\"/admin/sessions/42/end\""), std::string::npos);
  EXPECT_NE(html.find("class=\"end-session\""), std::string::npos);
  EXPECT_NE(html.find("name=\"csrf_token\" value=\"t\""), std::string::npos);
  EXPECT_NE(html.find("data-empty-for=\"sessions\" hidden"), std::string::npos);
}

TEST(AdminPages, KeptFreeDisksAreListedEscaped) {
  control::OperatorSnapshot snap;
  snap.retained.push_back({"iqn.2025-01.pub.scsipub:blank", "iqn.<x>", "800000000003", "198.51.100.9",
                           1'765'065'901'999, 1536, 64ull << 20});
  const std::string html = render_dashboard(snap, "t");
  EXPECT_NE(html.find("data-count-for=\"retained-table\">1<"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"initiator\">iqn.&lt;x&gt;</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"overlay\">1.5 KiB / 64.0 MiB</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"until\">2025-12-07 00:05:01 UTC</td>"), std::string::npos);
}

TEST(AdminPages, FleetNodesAndLeasesOnlyOnAFleetNode) {
  control::OperatorSnapshot single;
  EXPECT_EQ(render_dashboard(single, "t").find("fleet-nodes-table"), std::string::npos);

  control::OperatorSnapshot snap;
  snap.fleet.enabled = true;
  snap.fleet.this_node = "node-a";
  snap.fleet.nodes.push_back({"node-a", "10.0.0.1:3260", "10.0.0.1:3261", "0.1.0", true, 420, 12});
  snap.fleet.nodes.push_back({"node-<b>", "10.0.0.2:3260", "", "0.1.0", false, 61'000, 0});
  snap.fleet.leases.push_back({"disk1", "node-a", 7, 8'500});
  snap.fleet.leases.push_back({"disk2", "", 3, 0});
  snap.fleet.leases.push_back({"disk3", "node-<b>", 2, -100});
  const std::string html = render_dashboard(snap, "t");
  EXPECT_NE(html.find("data-count-for=\"fleet-nodes-table\">2<"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"this-node\"><td class=\"id\">node-a</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"portal\">10.0.0.1:3260, TLS 10.0.0.1:3261</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"id\">node-&lt;b&gt;</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"alive\">dead</td><td class=\"heartbeat\">61.0 s ago</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"sessions\">12</td>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"disk\">disk1</td><td class=\"owner\">node-a</td><td class=\"epoch\">7</td>"
                      "<td class=\"expires\">in 8.5 s</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"owner\">-</td><td class=\"epoch\">3</td><td class=\"expires\">released</td>"),
            std::string::npos);
  EXPECT_NE(html.find("<td class=\"expires\">expired</td>"), std::string::npos);
}

TEST(AdminPages, LoginPageEscapesItsMessage) {
  const std::string html = render_login_page("<b>no</b>");
  EXPECT_NE(html.find("&lt;b&gt;no&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("<form id=\"login\""), std::string::npos);
}

}  // namespace
}  // namespace scsipub::web
