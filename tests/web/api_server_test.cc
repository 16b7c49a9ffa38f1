// Runs ApiServer on 127.0.0.1:0 against an in-memory DiskService and talks
// real HTTP to it over loopback sockets.
#include "web/api_server.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "web/api_json.h"
#include "web/fake_disk_service.h"
#include "web/http_test_client.h"

namespace scsipub::web {
namespace {

using nlohmann::json;
using testing::FakeDiskService;
using testing::Headers;
using testing::HttpReply;
using Reply = std::optional<HttpReply>;

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ =
        std::make_unique<ApiServer>(service_, ApiServerConfig{.host = "127.0.0.1", .port = 0, .threads = 2});
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
    ASSERT_NE(server_->port(), 0);
  }

  static Headers auth(const std::string& token = "alice-token") { return {{"Authorization", "Bearer " + token}}; }

  Reply call(const std::string& method, const std::string& path, const Headers& headers = {},
             const std::string& body = {}) {
    return testing::http_request(server_->port(), method, path, headers, body);
  }
  Reply get(const std::string& path, const Headers& headers = {}) { return call("GET", path, headers); }
  Reply post(const std::string& body, const Headers& headers = auth()) {
    Headers h = headers;
    h.emplace_back("Content-Type", "application/json");
    return call("POST", "/api/v1/disks", h, body);
  }

  // The status, and that the body is a JSON error with a message.
  static void expect_error(const Reply& r, int status) {
    ASSERT_TRUE(r) << "no reply";
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->header("Content-Type"), "application/json");
    json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r->body;
    ASSERT_TRUE(j.contains("error") && j["error"].is_string()) << r->body;
    EXPECT_FALSE(j["error"].get<std::string>().empty());
  }

  static json body_of(const Reply& r, int status) {
    EXPECT_TRUE(r);
    if (!r) return nullptr;
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->header("Content-Type"), "application/json");
    return json::parse(r->body, nullptr, false);
  }

  FakeDiskService service_;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(ApiServerTest, CreateListGetDelete) {
  json created = body_of(post(R"({"images": ["debian", "blank"]})"), 201);
  ASSERT_TRUE(created.is_object());
  const std::string id = created["id"];
  EXPECT_EQ(created["target"], "iqn.2025-01.pub.scsipub:disk." + id);
  EXPECT_EQ(created["luns"].size(), 2u);
  EXPECT_EQ(created["luns"][1]["image"], "blank");
  EXPECT_EQ(created["chap"]["user"], "user-" + id);
  EXPECT_EQ(created["chap"]["secret"], "secret" + id + "xxxxxx");
  EXPECT_EQ(created["chap"]["mutual_secret"], "mutual" + id + "xxxxxx");
  EXPECT_EQ(created["portals"]["plain"], "127.0.0.1:3260");
  EXPECT_TRUE(created["portals"]["tls"].is_null());
  EXPECT_EQ(created["created"], "2025-01-01T00:00:00Z");
  EXPECT_TRUE(created["expires"].is_null());
  ASSERT_TRUE(created["iscsiadm"]["discovery"].is_array());
  ASSERT_TRUE(created["iscsiadm"]["static"].is_array());
  EXPECT_EQ(created["iscsiadm"]["discovery"].back(),
            "iscsiadm -m node -T iqn.2025-01.pub.scsipub:disk." + id + " -p 127.0.0.1:3260 --login");
  EXPECT_EQ(created["iscsiadm"]["static"].front(),
            "iscsiadm -m node -o new -T iqn.2025-01.pub.scsipub:disk." + id + " -p 127.0.0.1:3260");

  json list = body_of(get("/api/v1/disks", auth()), 200);
  ASSERT_EQ(list["disks"].size(), 1u);
  EXPECT_EQ(list["disks"][0]["id"], id);
  EXPECT_EQ(list.dump().find("secret" + id), std::string::npos);  // listings carry no secrets

  json got = body_of(get("/api/v1/disks/" + id, auth()), 200);
  EXPECT_EQ(got["id"], id);
  EXPECT_EQ(got["chap"]["secret"], "secret" + id + "xxxxxx");
  ASSERT_EQ(got["sessions"].size(), 1u);
  EXPECT_EQ(got["sessions"][0]["isid"], "023d00000001");
  EXPECT_EQ(got["iscsiadm"], created["iscsiadm"]);

  auto del = call("DELETE", "/api/v1/disks/" + id, auth());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 204);
  EXPECT_TRUE(del->body.empty());
  expect_error(get("/api/v1/disks/" + id, auth()), 404);
  expect_error(call("DELETE", "/api/v1/disks/" + id, auth()), 404);
  EXPECT_EQ(body_of(get("/api/v1/disks", auth()), 200)["disks"].size(), 0u);
}

TEST_F(ApiServerTest, DisksAreTheOwnersOnly) {
  json created = body_of(post(R"({"images": ["blank"]})"), 201);
  const std::string id = created["id"];
  expect_error(get("/api/v1/disks/" + id, auth("bob-token")), 404);
  expect_error(call("DELETE", "/api/v1/disks/" + id, auth("bob-token")), 404);
  EXPECT_EQ(body_of(get("/api/v1/disks", auth("bob-token")), 200)["disks"].size(), 0u);
}

TEST_F(ApiServerTest, MissingOrWrongTokenIs401) {
  for (const Headers& headers : std::vector<Headers>{{},
                                                      {{"Authorization", "Bearer"}},
                                                      {{"Authorization", "Bearer   "}},
                                                      {{"Authorization", "Basic YWxpY2U6eA=="}},
                                                      {{"Authorization", "alice-token"}}}) {
    auto r = get("/api/v1/disks", headers);
    expect_error(r, 401);
    EXPECT_EQ(r->header("WWW-Authenticate"), "Bearer");
  }
  auto wrong = get("/api/v1/disks", auth("mallory-token"));
  expect_error(wrong, 401);
  EXPECT_EQ(wrong->header("WWW-Authenticate"), "Bearer error=\"invalid_token\"");
  expect_error(post(R"({"images": ["blank"]})", {}), 401);
  expect_error(get("/api/v1/disks/d1"), 401);
  expect_error(call("DELETE", "/api/v1/disks/d1"), 401);
  // Scheme is case-insensitive.
  EXPECT_EQ(get("/api/v1/disks", {{"Authorization", "bearer alice-token"}})->status, 200);
}

TEST_F(ApiServerTest, BadRequestBodiesAre400) {
  for (const char* body :
       {"", "{", "not json", "[]", R"({"images": []})", R"({"images": "debian"})", R"({"images": [1, 2]})",
        R"({"images": ["a"], "extra": true})", R"({"images": ["../../etc/passwd"]})"}) {
    expect_error(post(body), 400);
  }
  auto r = post(R"({"images": ["a"], "extra": true})");
  EXPECT_NE(r->body.find("unknown field"), std::string::npos);
}

TEST_F(ApiServerTest, OversizedBodyIs413) {
  std::string body = R"({"images": ["blank"]})";
  body.append(kMaxRequestBody - body.size() + 1, ' ');
  expect_error(post(body), 413);
  // The server still serves afterwards.
  EXPECT_EQ(get("/api/v1/images")->status, 200);
}

TEST_F(ApiServerTest, BodyAtTheCapIsRead) {
  std::string body = R"({"images": ["blank"]})";
  body.append(kMaxRequestBody - body.size(), ' ');
  EXPECT_EQ(body_of(post(body), 201)["luns"].size(), 1u);
}

TEST_F(ApiServerTest, UnknownRoutesAre404) {
  for (const char* path : {"/api/v1/nothing", "/api/v2/disks", "/api/v1/disks/", "/api/v1/disks/a/b", "/api/",
                           "/api/v1/images/x", "/elsewhere"}) {
    expect_error(get(path, auth()), 404);
  }
  expect_error(get("/api/v1/disks/not%20an%20id", auth()), 404);
}

TEST_F(ApiServerTest, WrongMethodIs405) {
  auto put = call("PUT", "/api/v1/disks", auth(), "{}");
  expect_error(put, 405);
  EXPECT_EQ(put->header("Allow"), "GET, HEAD, POST");
  expect_error(call("DELETE", "/api/v1/disks", auth()), 405);
  auto post_one = call("POST", "/api/v1/disks/d1", auth(), "{}");
  expect_error(post_one, 405);
  EXPECT_EQ(post_one->header("Allow"), "GET, HEAD, DELETE");
  expect_error(call("POST", "/api/v1/images", auth(), "{}"), 405);
  expect_error(call("PATCH", "/api/v1/disks/d1", auth(), "{}"), 405);
}

TEST_F(ApiServerTest, ServiceErrorsMapToStatuses) {
  auto bad = post(R"({"images": ["nosuch"]})");
  expect_error(bad, 400);
  EXPECT_EQ(json::parse(bad->body)["error"], "no image \"nosuch\"");
  expect_error(post(R"({"images": ["toomany"]})"), 403);
  expect_error(post(R"({"images": ["busy"]})"), 409);
  expect_error(post(R"({"images": ["broken"]})"), 500);
}

TEST_F(ApiServerTest, ExceptionsBecome500AndTheServerLives) {
  auto r = post(R"({"images": ["throw"]})");
  expect_error(r, 500);
  EXPECT_EQ(json::parse(r->body)["error"], "internal error");  // the exception text stays in the log
  EXPECT_EQ(get("/api/v1/images")->status, 200);
}

// Review finding: a 500 carried the store's error text (paths, database
// errors) to the client. Both ways a service fails must answer generically,
// with an id the operator can find in the log.
TEST_F(ApiServerTest, InternalErrorsCarryNoDetailButARequestId) {
  for (const char* image : {"leaky", "leakythrow"}) {
    auto r = post(std::string(R"({"images": [")") + image + "\"]}");
    expect_error(r, 500);
    EXPECT_EQ(r->body.find("secret"), std::string::npos) << r->body;
    EXPECT_EQ(r->body.find("database"), std::string::npos) << r->body;
    json j = json::parse(r->body);
    EXPECT_EQ(j["error"], "internal error");
    ASSERT_TRUE(j.contains("request_id") && j["request_id"].is_string()) << r->body;
    EXPECT_GE(j["request_id"].get<std::string>().size(), 6u);
  }
}

TEST_F(ApiServerTest, ImagesNeedNoToken) {
  json j = body_of(get("/api/v1/images"), 200);
  ASSERT_EQ(j["images"].size(), 2u);
  EXPECT_EQ(j["images"][0]["name"], "blank");
  EXPECT_EQ(j["images"][0]["size_bytes"], 64 << 20);
  EXPECT_EQ(j["images"][0]["target"], "iqn.2025-01.pub.scsipub:blank");
  // The commands for the service's plain portal (web/target_commands.h pins them).
  EXPECT_EQ(j["images"][0]["commands"]["libiscsi"], "iscsi-inq iscsi://127.0.0.1:3260/iqn.2025-01.pub.scsipub:blank/0");
  EXPECT_EQ(j["images"][1]["name"], "debian");
}

TEST_F(ApiServerTest, StopIsIdempotentAndRefusesNewConnections) {
  server_->stop();
  server_->stop();
  testing::TestSocket s(server_->port());
  EXPECT_LT(s.fd(), 0);
}

TEST(ApiServerStart, BusyPortFailsClearly) {
  FakeDiskService service;
  ApiServer first(service, {.host = "127.0.0.1", .port = 0, .threads = 1});
  ASSERT_TRUE(first.start());
  ApiServer second(service, {.host = "127.0.0.1", .port = first.port(), .threads = 1});
  auto r = second.start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot listen for HTTP on 127.0.0.1:" + std::to_string(first.port())),
            std::string::npos)
      << r.error().message;
}

TEST(ApiServerStart, ForeignAddressFails) {
  FakeDiskService service;
  ApiServer server(service, {.host = "192.0.2.1", .port = 0, .threads = 1});  // TEST-NET-1, not ours
  EXPECT_FALSE(server.start());
}

TEST(ApiServerStart, DestructorStopsWithoutStop) {
  FakeDiskService service;
  auto server =
      std::make_unique<ApiServer>(service, ApiServerConfig{.host = "127.0.0.1", .port = 0, .threads = 1});
  ASSERT_TRUE(server->start());
  server.reset();  // must not hang or crash
}

}  // namespace
}  // namespace scsipub::web
