// The operator API's catalog: the add-image body parser (hostile input) and
// the routes through the real HttpServer against a fake CatalogAdmin.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "web/api_server.h"
#include "web/catalog_admin_json.h"
#include "web/fake_disk_service.h"
#include "web/fake_operator_console.h"
#include "web/http_test_client.h"

namespace scsipub::web {
namespace {

using nlohmann::json;
using testing::FakeDiskService;
using testing::FakeOperatorConsole;
using testing::Headers;

TEST(ImageAddRequest, ParsesAFullRequest) {
  auto r = parse_image_add_request(
      R"({"name":"debian-12","source":"https://cloud.debian.org/x.qcow2","sha256":")" + std::string(64, 'a') +
      R"(","title":"Debian 12","description":"generic cloud","presentation":"disk","replace":true})");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->name, "debian-12");
  EXPECT_EQ(r->source, "https://cloud.debian.org/x.qcow2");
  EXPECT_EQ(r->sha256, std::string(64, 'a'));
  EXPECT_EQ(r->title, "Debian 12");
  EXPECT_EQ(r->presentation, "disk");
  EXPECT_TRUE(r->replace);
  auto minimal = parse_image_add_request(R"({"name":"a","source":"http://127.0.0.1:8000/a.img"})");
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(minimal->presentation, "auto");
  EXPECT_FALSE(minimal->replace);
}

TEST(ImageAddRequest, RefusesWhatCouldHurt) {
  const std::string ok_url = R"("source":"https://example.org/a.img")";
  for (const std::string& body : {
           std::string(R"({"name":"a","source":"/etc/shadow"})"),             // a local file over the API
           std::string(R"({"name":"a","source":"file:///etc/shadow"})"),
           std::string(R"({"name":"a","source":"ftp://example.org/a.img"})"),
           std::string(R"({"name":"a","source":"https://example.org/a b"})"),   // a space: log/header injection
           std::string(R"({"name":"a","source":"https://x/\r\nX: y"})"),
           R"({"name":"../etc",)" + ok_url + "}",
           R"({"name":"Upper",)" + ok_url + "}",
           R"({"name":"a",)" + ok_url + R"(,"sha256":"ABC"})",
           R"({"name":"a",)" + ok_url + R"(,"sha256":")" + std::string(64, 'A') + "\"}",
           R"({"name":"a",)" + ok_url + R"(,"presentation":"floppy"})",
           R"({"name":"a",)" + ok_url + R"(,"replace":"yes"})",
           R"({"name":"a",)" + ok_url + R"(,"title":)" + "\"" + std::string(201, 't') + "\"}",
           R"({"name":"a",)" + ok_url + R"(,"extra":1})",
           R"({"name":"a","name":"b",)" + ok_url + "}",
           R"({"name":1,)" + ok_url + "}",
           std::string(R"({"name":"a"})"),
           std::string("[1,2]"),
           std::string("{"),
           std::string("{\"name\":\"a\"}\0tail", 17),
           std::string(70 * 1024, ' '),
       }) {
    auto r = parse_image_add_request(body);
    EXPECT_FALSE(r.ok()) << body.substr(0, 120);
  }
}

class FakeCatalogAdmin final : public control::CatalogAdmin {
 public:
  std::vector<control::CatalogEntry> images() override {
    control::CatalogEntry e;
    e.name = "demo";
    e.size_bytes = 1 << 20;
    e.title = "<b>Demo</b>";
    return {e};
  }
  control::ServiceResult<control::ImageJob> add_image(const control::ImageAddRequest& r) override {
    added.push_back(r);
    if (r.name == "taken") return control::service_error(control::ServiceErrc::conflict, "image taken exists");
    if (r.name == "busy") return control::service_error(control::ServiceErrc::limit_exceeded, "1 import running");
    return control::ImageJob{5, r.name, r.source, "running", "download", 1, 2, "", 1000, 0};
  }
  std::vector<control::ImageJob> jobs() override { return {control::ImageJob{5, "x", "https://x", "failed", "", 0, 0, "bad sum", 1, 2}}; }
  std::optional<control::ImageJob> job(uint64_t id) override {
    if (id != 5) return std::nullopt;
    return jobs().front();
  }
  control::ServiceResult<Ok> remove_image(std::string_view name) override {
    removed.emplace_back(name);
    if (name == "used") return control::service_error(control::ServiceErrc::conflict, "under disk d1");
    if (name != "demo") return control::service_error(control::ServiceErrc::not_found, "no such image");
    return Ok{};
  }
  std::vector<control::ImageAddRequest> added;
  std::vector<std::string> removed;
};

class CatalogAdminRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ApiServer>(service_, ApiServerConfig{.host = "127.0.0.1",
                                                                   .port = 0,
                                                                   .threads = 1,
                                                                   .operator_console = &console_,
                                                                   .catalog_admin = &catalog_});
    ASSERT_TRUE(server_->start());
  }
  std::optional<testing::HttpReply> call(const std::string& method, const std::string& path, bool auth = true,
                                         const std::string& body = {}) {
    Headers h;
    if (auth) h.emplace_back("Authorization", std::string("Bearer ") + FakeOperatorConsole::kToken);
    if (!body.empty()) h.emplace_back("Content-Type", "application/json");
    return testing::http_request(server_->port(), method, path, h, body);
  }
  FakeDiskService service_;
  FakeOperatorConsole console_;
  FakeCatalogAdmin catalog_;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(CatalogAdminRoutesTest, EveryRouteNeedsAnOperator) {
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/admin/images"},
           {"POST", "/api/v1/admin/images"},
           {"GET", "/api/v1/admin/images/jobs/5"},
           {"DELETE", "/api/v1/admin/images/demo"}}) {
    auto r = call(method, path, false, method == "POST" ? R"({"name":"a","source":"https://x/a"})" : "");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << method << " " << path;
  }
  EXPECT_TRUE(catalog_.added.empty());
  EXPECT_TRUE(catalog_.removed.empty());
}

TEST_F(CatalogAdminRoutesTest, ListAddFollowRemove) {
  auto list = call("GET", "/api/v1/admin/images");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200);
  auto doc = json::parse(list->body);
  EXPECT_EQ(doc["images"][0]["name"], "demo");
  EXPECT_EQ(doc["images"][0]["title"], "<b>Demo</b>");  // JSON carries text as text
  EXPECT_EQ(doc["jobs"][0]["error"], "bad sum");

  auto added = call("POST", "/api/v1/admin/images", true, R"({"name":"new","source":"https://example.org/n.qcow2"})");
  ASSERT_TRUE(added);
  EXPECT_EQ(added->status, 202);
  EXPECT_EQ(added->header("Location"), "/api/v1/admin/images/jobs/5");
  EXPECT_EQ(json::parse(added->body)["job"]["state"], "running");
  ASSERT_EQ(catalog_.added.size(), 1u);
  EXPECT_EQ(catalog_.added[0].name, "new");

  EXPECT_EQ(call("POST", "/api/v1/admin/images", true, R"({"name":"taken","source":"https://x/a"})")->status, 409);
  EXPECT_EQ(call("POST", "/api/v1/admin/images", true, R"({"name":"busy","source":"https://x/a"})")->status, 429);
  EXPECT_EQ(call("POST", "/api/v1/admin/images", true, R"({"name":"x","source":"/etc/passwd"})")->status, 400);
  EXPECT_EQ(catalog_.added.size(), 3u);  // the 400 never reached the catalog

  EXPECT_EQ(call("GET", "/api/v1/admin/images/jobs/5")->status, 200);
  EXPECT_EQ(call("GET", "/api/v1/admin/images/jobs/6")->status, 404);
  EXPECT_EQ(call("GET", "/api/v1/admin/images/jobs/5x")->status, 404);

  EXPECT_EQ(call("DELETE", "/api/v1/admin/images/demo")->status, 204);
  EXPECT_EQ(call("DELETE", "/api/v1/admin/images/used")->status, 409);
  EXPECT_EQ(call("DELETE", "/api/v1/admin/images/nope")->status, 404);
}

}  // namespace
}  // namespace scsipub::web
