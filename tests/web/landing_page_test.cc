#include "web/landing_page.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "web/api_json.h"
#include "web/page_scan.h"
#include "web/target_commands.h"

namespace scsipub::web {
namespace {

using testing::code_blocks;
using testing::copy_targets;
using testing::image_article;

LandingPageInputs inputs() {
  LandingPageInputs in;
  in.images = {{"blank", 64ull << 20, "iqn.2025-01.pub.scsipub:blank"},
               {"debian", 3ull << 29, "iqn.2025-01.pub.scsipub:image.debian"},
               {"alpine", 100ull << 20, "iqn.2025-01.pub.scsipub:image.alpine"}};
  in.portals = {"scsipub.example:3260", ""};
  in.multi_images = {"debian", "alpine"};
  in.blank_write_limit = 0;
  in.image_write_limit = 256ull << 20;
  in.status = {7, 42};
  in.asset_version = "0123abcd";
  return in;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

TEST(LandingPage, CatalogRowPerImageWithSizeAndIqn) {
  const std::string html = render_landing_page(inputs());
  ASSERT_TRUE(contains(html, "id=\"catalog\""));
  for (const auto& [name, size, iqn] : {std::tuple{"blank", "64 MiB", "iqn.2025-01.pub.scsipub:blank"},
                                        std::tuple{"debian", "1.5 GiB", "iqn.2025-01.pub.scsipub:image.debian"},
                                        std::tuple{"alpine", "100 MiB", "iqn.2025-01.pub.scsipub:image.alpine"},
                                        std::tuple{"multi", "", "iqn.2025-01.pub.scsipub:multi"}}) {
    std::string_view article = image_article(html, name);
    ASSERT_FALSE(article.empty()) << name;
    EXPECT_TRUE(contains(article, iqn)) << name;
    if (*size) {
      EXPECT_TRUE(contains(article, size)) << name;
    }
    std::set<std::string> kinds;
    for (const auto& block : code_blocks(article)) kinds.insert(block.command);
    EXPECT_EQ(kinds, (std::set<std::string>{"iscsiadm", "qemu", "ipxe", "libiscsi", "powershell"})) << name;
  }
  // multi lists its LUNs in order.
  std::string_view multi = image_article(html, "multi");
  EXPECT_TRUE(contains(multi, "<li>debian (1.5 GiB)</li><li>alpine (100 MiB)</li>"));
  EXPECT_TRUE(contains(multi, "/iqn.2025-01.pub.scsipub:multi/1,format=raw"));
}

TEST(LandingPage, CatalogMetadataIsShownAsText) {
  LandingPageInputs in = inputs();
  in.images[1].title = "Debian <12> & friends";
  in.images[1].description = "cloud image \"nocloud\"";
  in.images[2].presentation = control::Presentation::dvd;
  const std::string html = render_landing_page(in);
  std::string_view debian = image_article(html, "debian");
  EXPECT_TRUE(contains(debian, "<p class=\"image-title\">Debian &lt;12&gt; &amp; friends</p>"));
  EXPECT_TRUE(contains(debian, "<p class=\"image-description\">cloud image &quot;nocloud&quot;</p>"));
  EXPECT_FALSE(contains(debian, "DVD-ROM"));
  std::string_view alpine = image_article(html, "alpine");
  EXPECT_FALSE(contains(alpine, "image-title"));  // no metadata, no empty paragraph
  EXPECT_TRUE(contains(alpine, "<dt>Drive</dt><dd>DVD-ROM (read-only)"));
  EXPECT_TRUE(contains(alpine, "media=cdrom"));
}

TEST(LandingPage, CommandsAreTheApisBytes) {
  LandingPageInputs in = inputs();
  const std::string html = render_landing_page(in);
  const nlohmann::json api = images_json(in.images, in.portals.plain, in.multi_images);
  std::map<std::string, std::string> shown;
  for (const auto& b : code_blocks(html)) shown[b.id] = b.text;
  for (const char* kind : {"iscsiadm", "qemu", "ipxe", "libiscsi", "powershell"}) {
    const std::string id = "image-" + std::to_string(in.images.size()) + "-" + kind;  // multi follows the images
    EXPECT_EQ(shown[id], api["multi"]["commands"][kind].get<std::string>()) << id;
  }
  for (size_t i = 0; i < in.images.size(); ++i) {
    for (const char* kind : {"iscsiadm", "qemu", "ipxe", "libiscsi", "powershell"}) {
      const std::string id = "image-" + std::to_string(i) + "-" + kind;
      ASSERT_TRUE(shown.count(id)) << id;
      EXPECT_EQ(shown[id], api["images"][i]["commands"][kind].get<std::string>()) << id;
    }
  }
  // "Try it" is the blank target's login and cleanup.
  EXPECT_EQ(shown["try-login"], api["images"][0]["commands"]["iscsiadm"].get<std::string>());
  EXPECT_EQ(shown["try-cleanup"], api["images"][0]["commands"]["cleanup"].get<std::string>());
  EXPECT_EQ(shown["try-login"],
            "iscsiadm -m discovery -t sendtargets -p scsipub.example:3260\n"
            "iscsiadm -m node -T iqn.2025-01.pub.scsipub:blank -p scsipub.example:3260 --login");
}

TEST(LandingPage, EveryCopyButtonNamesOneCodeBlock) {
  LandingPageInputs in = inputs();
  in.portals.tls = "scsipub.example:3261";
  const std::string html = render_landing_page(in);
  std::set<std::string> ids;
  for (const auto& b : code_blocks(html)) EXPECT_TRUE(ids.insert(b.id).second) << "duplicate id " << b.id;
  const auto targets = copy_targets(html);
  EXPECT_EQ(targets.size(), ids.size());
  for (const auto& t : targets) EXPECT_TRUE(ids.count(t)) << t;
  EXPECT_GT(ids.size(), 25u);
}

TEST(LandingPage, TlsSectionOnlyWithATlsPortal) {
  LandingPageInputs in = inputs();
  EXPECT_FALSE(contains(render_landing_page(in), "id=\"tls\""));
  in.portals.tls = "scsipub.example:3261";
  const std::string html = render_landing_page(in);
  ASSERT_TRUE(contains(html, "id=\"tls\""));
  std::map<std::string, std::string> shown;
  for (const auto& b : code_blocks(html)) shown[b.id] = b.text;
  const TlsTunnelCommands want =
      tls_tunnel_commands(*parse_portal("scsipub.example:3261"), "iqn.2025-01.pub.scsipub:blank");
  EXPECT_EQ(shown["tls-stunnel-config"], want.stunnel_config);
  EXPECT_EQ(shown["tls-login"], want.static_login);
  EXPECT_EQ(shown["tls-cleanup"], want.cleanup);
  EXPECT_TRUE(contains(shown["tls-stunnel-config"], "connect = scsipub.example:3261\n"));
  EXPECT_TRUE(contains(shown["tls-login"], "-p 127.0.0.1:3260 -o new\n"));
}

TEST(LandingPage, StatusStripHoldsPlainNumbers) {
  const std::string html = render_landing_page(inputs());
  EXPECT_TRUE(contains(html, "id=\"status\""));
  EXPECT_TRUE(contains(html, "<span data-stat=\"targets\">7</span>"));
  EXPECT_TRUE(contains(html, "<span data-stat=\"sessions\">42</span>"));
}

TEST(LandingPage, SectionsTheIssueAsksFor) {
  const std::string html = render_landing_page(inputs());
  for (std::string_view s : {"id=\"try-it\"", "id=\"free-tier\"", "id=\"hardware\"", "id=\"paid\"",
                             "href=\"/docs/api\"", "noop_out_interval=0", "NOP-In", "6.3.5", "-o delete",
                             "retries a lost login to it forever", "up to 256 MiB", "up to the whole disk",
                             "iscsi_target_ip=scsipub.example", "netroot=iscsi:scsipub.example::::"}) {
    EXPECT_TRUE(contains(html, s)) << s;
  }
}

TEST(LandingPage, NoInlineScriptOrStyleAndNothingFromElsewhere) {
  LandingPageInputs in = inputs();
  in.portals.tls = "scsipub.example:3261";
  const std::string html = render_landing_page(in);
  EXPECT_FALSE(contains(html, "<style"));
  EXPECT_FALSE(contains(html, " style="));
  EXPECT_FALSE(contains(html, "<script>"));
  EXPECT_FALSE(contains(html, " on"  "click="));
  EXPECT_FALSE(contains(html, "javascript:"));
  EXPECT_FALSE(contains(html, "src=\"http"));
  EXPECT_FALSE(contains(html, "href=\"http"));
  EXPECT_TRUE(contains(html, "<script src=\"/static/site.js?v=0123abcd\" defer></script>"));
  EXPECT_TRUE(contains(html, "<link rel=\"stylesheet\" href=\"/static/site.css?v=0123abcd\">"));
  EXPECT_TRUE(contains(html, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
}

TEST(LandingPage, MarkupInNamesAndHostsIsText) {
  LandingPageInputs in = inputs();
  const std::string evil = "<script>alert(1)</script>\"'";
  in.images.push_back({evil, 1 << 20, "iqn.2025-01.pub.scsipub:image." + evil});
  in.multi_images = {evil};
  in.portals.plain = "<img src=x onerror=alert(2)>:3260";
  in.portals.tls = "<b>tls</b>:3261";  // does not parse as a portal: no TLS section at all
  const std::string html = render_landing_page(in);
  EXPECT_FALSE(contains(html, "<script>alert"));
  EXPECT_FALSE(contains(html, "<img src=x"));
  EXPECT_FALSE(contains(html, "<b>tls"));
  EXPECT_FALSE(contains(html, "id=\"tls\""));
  EXPECT_TRUE(contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;"));
  EXPECT_TRUE(contains(html, "&lt;img src=x onerror=alert(2)&gt;"));
  // The attribute holding the name is closed where we close it.
  EXPECT_FALSE(image_article(html, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;").empty());
  // And the escaped command still reads back as the exact command.
  const nlohmann::json api = images_json(in.images, in.portals.plain);
  std::map<std::string, std::string> shown;
  for (const auto& b : code_blocks(html)) shown[b.id] = b.text;
  EXPECT_EQ(shown["image-3-libiscsi"], api["images"][3]["commands"]["libiscsi"].get<std::string>());
}

TEST(HumanSize, Units) {
  EXPECT_EQ(human_size(0), "0 bytes");
  EXPECT_EQ(human_size(512), "512 bytes");
  EXPECT_EQ(human_size(1024), "1 KiB");
  EXPECT_EQ(human_size(64ull << 20), "64 MiB");
  EXPECT_EQ(human_size(3ull << 29), "1.5 GiB");
  EXPECT_EQ(human_size(5ull << 40), "5 TiB");
}

}  // namespace
}  // namespace scsipub::web
