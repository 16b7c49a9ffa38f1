// The public pages through the real HttpServer (ApiServer with a SiteInfo)
// over loopback: headers, gzip, ETags and the cache.
#include "web/site_routes.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>

#include "web/api_server.h"
#include "web/fake_disk_service.h"
#include "web/gunzip.h"
#include "web/http_test_client.h"
#include "web/page_layout.h"
#include "web/page_scan.h"
#include "web/static_assets.h"

namespace scsipub::web {
namespace {

using testing::Headers;
using testing::HttpReply;
using Reply = std::optional<HttpReply>;

class SiteRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SiteInfo site;
    site.blank_write_limit = 0;
    site.image_write_limit = 256ull << 20;
    site.multi_images = [] { return std::vector<std::string>{"debian", "blank"}; };
    site.status = [this] {
      status_calls_.fetch_add(1);
      return SiteStatus{3, sessions_.load()};
    };
    site.refresh = std::chrono::milliseconds(300);
    server_ = std::make_unique<ApiServer>(
        service_, ApiServerConfig{.host = "127.0.0.1", .port = 0, .threads = 2, .site = site});
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
  }

  Reply get(const std::string& path, const Headers& headers = {}) {
    return testing::http_request(server_->port(), "GET", path, headers);
  }

  testing::FakeDiskService service_;
  std::atomic<int> status_calls_{0};
  std::atomic<uint64_t> sessions_{5};
  std::unique_ptr<ApiServer> server_;
};

TEST_F(SiteRoutesTest, LandingPageWithSecurityHeaders) {
  Reply r = get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r->header("Content-Security-Policy"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  EXPECT_EQ(r->header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r->header("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(r->header("Vary"), "Accept-Encoding");
  EXPECT_EQ(r->header("Cache-Control"), "no-cache");
  EXPECT_FALSE(r->header("ETag").empty());
  EXPECT_EQ(r->header("Content-Encoding"), "");
  EXPECT_NE(r->body.find("data-image=\"debian\""), std::string::npos);
  EXPECT_NE(r->body.find("data-image=\"multi\""), std::string::npos);
  EXPECT_NE(r->body.find("<span data-stat=\"sessions\">5</span>"), std::string::npos);
  EXPECT_NE(r->body.find("iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260"), std::string::npos);
}

TEST_F(SiteRoutesTest, GzipWhenAcceptedSameBytesInflated) {
  Reply plain = get("/");
  Reply packed = get("/", {{"Accept-Encoding", "gzip, deflate, br"}});
  ASSERT_TRUE(plain && packed);
  EXPECT_EQ(packed->status, 200);
  EXPECT_EQ(packed->header("Content-Encoding"), "gzip");
  EXPECT_EQ(packed->header("Vary"), "Accept-Encoding");
  EXPECT_EQ(packed->header("Content-Security-Policy"), plain->header("Content-Security-Policy"));
  EXPECT_LT(packed->body.size(), plain->body.size() / 3);
  EXPECT_EQ(testing::gunzip(packed->body), plain->body);
  EXPECT_NE(packed->header("ETag"), plain->header("ETag"));
}

TEST_F(SiteRoutesTest, ConditionalRequestsGet304) {
  Reply first = get("/");
  ASSERT_TRUE(first);
  Reply again = get("/", {{"If-None-Match", first->header("ETag")}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  EXPECT_EQ(again->header("ETag"), first->header("ETag"));

  Reply css = get("/static/site.css");
  ASSERT_TRUE(css);
  EXPECT_EQ(css->status, 200);
  EXPECT_EQ(css->header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(css->header("Cache-Control"), "public, max-age=86400");
  EXPECT_EQ(css->body, site_css());
  Reply css304 = get("/static/site.css", {{"If-None-Match", css->header("ETag")}});
  ASSERT_TRUE(css304);
  EXPECT_EQ(css304->status, 304);

  Reply js = get("/static/site.js", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(js);
  EXPECT_EQ(js->header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js->header("Content-Encoding"), "gzip");
  EXPECT_EQ(testing::gunzip(js->body), std::string(site_js()));
  Reply js304 = get("/static/site.js", {{"Accept-Encoding", "gzip"}, {"If-None-Match", js->header("ETag")}});
  ASSERT_TRUE(js304);
  EXPECT_EQ(js304->status, 304);
}

TEST_F(SiteRoutesTest, StatusIsReadOncePerRefreshNotPerRequest) {
  ASSERT_TRUE(get("/"));
  const int after_first = status_calls_.load();
  EXPECT_EQ(after_first, 1);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(get("/"));
  // 21 requests in well under the 300 ms refresh would need no new render;
  // allow one in case the machine is slow.
  EXPECT_LE(status_calls_.load(), after_first + 1);

  sessions_ = 9;
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  Reply r = get("/");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("<span data-stat=\"sessions\">9</span>"), std::string::npos);
}

TEST_F(SiteRoutesTest, ApiDocsFaviconAndTheRest) {
  Reply docs = get("/docs/api");
  ASSERT_TRUE(docs);
  EXPECT_EQ(docs->status, 200);
  EXPECT_EQ(docs->header("Content-Security-Policy"), kContentSecurityPolicy);
  EXPECT_NE(docs->body.find("POST /api/v1/disks"), std::string::npos);

  Reply icon = get("/favicon.ico");
  ASSERT_TRUE(icon);
  EXPECT_EQ(icon->status, 204);

  // HEAD: the GET's header fields, no body (read raw: the test client
  // would wait for Content-Length bytes that never come).
  testing::TestSocket head(server_->port());
  ASSERT_TRUE(head.send_all(testing::build_request("HEAD", "/")));
  std::string raw;
  timeval tv{5, 0};
  ::setsockopt(head.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  for (int i = 0; i < 1000; ++i) {
    ssize_t n = ::recv(head.fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 200")) << raw;
  EXPECT_NE(raw.find("Content-Security-Policy: "), std::string::npos);
  EXPECT_TRUE(raw.ends_with("\r\n\r\n")) << "a body followed the header";

  Reply missing = get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  Reply post = testing::http_request(server_->port(), "POST", "/");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST_F(SiteRoutesTest, ImagesApiCarriesThePagesCommands) {
  Reply api = get("/api/v1/images");
  Reply page = get("/");
  ASSERT_TRUE(api && page);
  nlohmann::json j = nlohmann::json::parse(api->body);
  std::map<std::string, testing::CodeBlock> blocks;
  for (auto& b : testing::code_blocks(page->body)) blocks[b.id] = b;
  ASSERT_EQ(j["images"].size(), 2u);
  for (size_t i = 0; i < j["images"].size(); ++i) {
    for (const char* kind : {"iscsiadm", "qemu", "ipxe", "libiscsi", "powershell"}) {
      const auto& b = blocks["image-" + std::to_string(i) + "-" + kind];
      EXPECT_EQ(b.command, kind);
      EXPECT_EQ(b.text, j["images"][i]["commands"][kind].get<std::string>());
    }
  }
  EXPECT_EQ(j["images"][1]["commands"]["libiscsi"], "iscsi-inq iscsi://127.0.0.1:3260/iqn.2025-01.pub.scsipub:image.debian/0");
  // multi comes after the images on the page, and under its own key in the API.
  ASSERT_TRUE(j.contains("multi"));
  EXPECT_EQ(j["multi"]["target"], "iqn.2025-01.pub.scsipub:multi");
  EXPECT_EQ(j["multi"]["luns"], (nlohmann::json::array({{{"lun", 0}, {"image", "debian"}}, {{"lun", 1}, {"image", "blank"}}})));
  for (const char* kind : {"iscsiadm", "qemu", "ipxe", "libiscsi", "powershell"}) {
    EXPECT_EQ(blocks[std::string("image-2-") + kind].text, j["multi"]["commands"][kind].get<std::string>()) << kind;
  }
  EXPECT_NE(j["multi"]["commands"]["qemu"].get<std::string>().find("/iqn.2025-01.pub.scsipub:multi/1,"), std::string::npos);
}

TEST(SiteRoutesAbsent, WithoutSiteInfoTheRootIsNotFound) {
  testing::FakeDiskService service;
  ApiServer server(service, ApiServerConfig{.host = "127.0.0.1", .port = 0, .threads = 1});
  ASSERT_TRUE(server.start());
  Reply r = testing::http_request(server.port(), "GET", "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

}  // namespace
}  // namespace scsipub::web
