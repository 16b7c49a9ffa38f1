// Runs ApiServer on 127.0.0.1:0 against an in-memory DiskService and talks
// real HTTP to it with httplib::Client.
#include "web/api_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "control/target_names.h"
#include "web/api_json.h"

namespace scsipub::web {
namespace {

using control::ServiceErrc;
using nlohmann::json;

// Tokens "alice" and "bob" own disks; image names steer the error paths.
class FakeDiskService final : public control::DiskService {
 public:
  control::ServiceResult<control::Caller> authenticate(std::string_view token) override {
    if (token == "alice-token") return control::Caller{"alice", "paid"};
    if (token == "bob-token") return control::Caller{"bob", "paid"};
    return control::service_error(ServiceErrc::unauthorized, "unknown token");
  }

  control::ServiceResult<control::DiskInfo> create_disk(const control::Caller& caller,
                                                        const control::CreateDiskRequest& request) override {
    const std::string& first = request.images.front();
    if (first == "nosuch") return control::service_error(ServiceErrc::bad_request, "no image \"nosuch\"");
    if (first == "toomany") return control::service_error(ServiceErrc::limit_exceeded, "tier allows 1 disk");
    if (first == "busy") return control::service_error(ServiceErrc::conflict, "try again");
    if (first == "broken") return control::service_error(ServiceErrc::internal, "store failed");
    if (first == "throw") throw std::runtime_error("fake service blew up");
    std::lock_guard lock(mu_);
    control::DiskInfo d;
    d.id = "d" + std::to_string(++next_id_);
    d.target = control::disk_target(d.id);
    for (uint32_t i = 0; i < request.images.size(); ++i)
      d.luns.push_back({i, request.images[i], 1 << 20, 0, 0});
    d.chap_user = "user-" + d.id;
    d.chap_secret = "secret" + d.id + "xxxxxx";
    d.mutual_secret = "mutual" + d.id + "xxxxxx";
    d.created = std::chrono::sys_seconds{std::chrono::seconds{1735689600}};  // 2025-01-01
    disks_[d.id] = {caller.account_id, d};
    return d;
  }

  control::ServiceResult<std::vector<control::DiskInfo>> list_disks(const control::Caller& caller) override {
    std::lock_guard lock(mu_);
    std::vector<control::DiskInfo> out;
    for (const auto& [id, owned] : disks_) {
      if (owned.first == caller.account_id) out.push_back(owned.second);
    }
    return out;
  }

  control::ServiceResult<control::DiskInfo> get_disk(const control::Caller& caller,
                                                     std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = disks_.find(std::string(id));
    if (it == disks_.end() || it->second.first != caller.account_id) {
      return control::service_error(ServiceErrc::not_found, "no such disk");
    }
    control::DiskInfo d = it->second.second;
    d.sessions = {{"iqn.1993-08.org.debian:01:abc", "023d00000001", "127.0.0.1:40000"}};
    return d;
  }

  control::ServiceResult<Ok> delete_disk(const control::Caller& caller, std::string_view id) override {
    auto found = get_disk(caller, id);
    if (!found) return control::service_error(found.error().code, found.error().message);
    std::lock_guard lock(mu_);
    disks_.erase(std::string(id));
    return Ok{};
  }

  std::vector<control::ImageInfo> images() override {
    return {{"blank", 64 << 20, control::blank_target()},
            {"debian", 1 << 30, control::image_target("debian")}};
  }

  control::Portals portals() override { return {"127.0.0.1:3260", ""}; }

 private:
  std::mutex mu_;
  int next_id_ = 0;
  std::map<std::string, std::pair<std::string, control::DiskInfo>> disks_;  // id -> (account, disk)
};

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ =
        std::make_unique<ApiServer>(service_, ApiServerConfig{.host = "127.0.0.1", .port = 0, .threads = 2});
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
    ASSERT_NE(server_->port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(std::chrono::seconds(10));
  }

  static httplib::Headers auth(const std::string& token = "alice-token") {
    return {{"Authorization", "Bearer " + token}};
  }

  httplib::Result post(const std::string& body, const httplib::Headers& headers = auth()) {
    return client_->Post("/api/v1/disks", headers, body, "application/json");
  }

  // The status, and that the body is a JSON error with a message.
  static void expect_error(const httplib::Result& r, int status) {
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r->body;
    ASSERT_TRUE(j.contains("error") && j["error"].is_string()) << r->body;
    EXPECT_FALSE(j["error"].get<std::string>().empty());
  }

  static json body_of(const httplib::Result& r, int status) {
    EXPECT_TRUE(r);
    if (!r) return nullptr;
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    return json::parse(r->body, nullptr, false);
  }

  FakeDiskService service_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<httplib::Client> client_;
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

  json list = body_of(client_->Get("/api/v1/disks", auth()), 200);
  ASSERT_EQ(list["disks"].size(), 1u);
  EXPECT_EQ(list["disks"][0]["id"], id);
  EXPECT_EQ(list.dump().find("secret" + id), std::string::npos);  // listings carry no secrets

  json got = body_of(client_->Get("/api/v1/disks/" + id, auth()), 200);
  EXPECT_EQ(got["id"], id);
  EXPECT_EQ(got["chap"]["secret"], "secret" + id + "xxxxxx");
  ASSERT_EQ(got["sessions"].size(), 1u);
  EXPECT_EQ(got["sessions"][0]["isid"], "023d00000001");
  EXPECT_EQ(got["iscsiadm"], created["iscsiadm"]);

  auto del = client_->Delete("/api/v1/disks/" + id, auth());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 204);
  EXPECT_TRUE(del->body.empty());
  expect_error(client_->Get("/api/v1/disks/" + id, auth()), 404);
  expect_error(client_->Delete("/api/v1/disks/" + id, auth()), 404);
  EXPECT_EQ(body_of(client_->Get("/api/v1/disks", auth()), 200)["disks"].size(), 0u);
}

TEST_F(ApiServerTest, DisksAreTheOwnersOnly) {
  json created = body_of(post(R"({"images": ["blank"]})"), 201);
  const std::string id = created["id"];
  expect_error(client_->Get("/api/v1/disks/" + id, auth("bob-token")), 404);
  expect_error(client_->Delete("/api/v1/disks/" + id, auth("bob-token")), 404);
  EXPECT_EQ(body_of(client_->Get("/api/v1/disks", auth("bob-token")), 200)["disks"].size(), 0u);
}

TEST_F(ApiServerTest, MissingOrWrongTokenIs401) {
  for (const httplib::Headers& headers :
       std::vector<httplib::Headers>{{},
                                     {{"Authorization", "Bearer"}},
                                     {{"Authorization", "Bearer   "}},
                                     {{"Authorization", "Basic YWxpY2U6eA=="}},
                                     {{"Authorization", "alice-token"}}}) {
    auto r = client_->Get("/api/v1/disks", headers);
    expect_error(r, 401);
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer");
  }
  auto wrong = client_->Get("/api/v1/disks", auth("mallory-token"));
  expect_error(wrong, 401);
  EXPECT_EQ(wrong->get_header_value("WWW-Authenticate"), "Bearer error=\"invalid_token\"");
  expect_error(post(R"({"images": ["blank"]})", {}), 401);
  expect_error(client_->Get("/api/v1/disks/d1", httplib::Headers{}), 401);
  expect_error(client_->Delete("/api/v1/disks/d1", httplib::Headers{}), 401);
  // Scheme is case-insensitive.
  EXPECT_EQ(client_->Get("/api/v1/disks", {{"Authorization", "bearer alice-token"}})->status, 200);
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
  // The connection still serves afterwards.
  EXPECT_EQ(client_->Get("/api/v1/images")->status, 200);
}

TEST_F(ApiServerTest, UnknownRoutesAre404) {
  for (const char* path : {"/api/v1/nothing", "/api/v2/disks", "/api/v1/disks/", "/api/v1/disks/a/b", "/api/",
                           "/api/v1/images/x", "/elsewhere"}) {
    expect_error(client_->Get(path, auth()), 404);
  }
  expect_error(client_->Get("/api/v1/disks/not%20an%20id", auth()), 404);
}

TEST_F(ApiServerTest, WrongMethodIs405) {
  auto put = client_->Put("/api/v1/disks", auth(), "{}", "application/json");
  expect_error(put, 405);
  EXPECT_EQ(put->get_header_value("Allow"), "GET, HEAD, POST");
  auto del = client_->Delete("/api/v1/disks", auth());
  expect_error(del, 405);
  auto post_one = client_->Post("/api/v1/disks/d1", auth(), "{}", "application/json");
  expect_error(post_one, 405);
  EXPECT_EQ(post_one->get_header_value("Allow"), "GET, HEAD, DELETE");
  expect_error(client_->Post("/api/v1/images", auth(), "{}", "application/json"), 405);
  expect_error(client_->Patch("/api/v1/disks/d1", auth(), "{}", "application/json"), 405);
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
  EXPECT_EQ(client_->Get("/api/v1/images")->status, 200);
}

TEST_F(ApiServerTest, ImagesNeedNoToken) {
  json j = body_of(client_->Get("/api/v1/images"), 200);
  ASSERT_EQ(j["images"].size(), 2u);
  EXPECT_EQ(j["images"][0],
            (json{{"name", "blank"}, {"size_bytes", 64 << 20}, {"target", "iqn.2025-01.pub.scsipub:blank"}}));
  EXPECT_EQ(j["images"][1]["name"], "debian");
}

TEST_F(ApiServerTest, StopIsIdempotentAndRefusesNewConnections) {
  server_->stop();
  server_->stop();
  httplib::Client c("127.0.0.1", server_->port());
  c.set_connection_timeout(std::chrono::seconds(2));
  EXPECT_FALSE(c.Get("/api/v1/images"));
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
