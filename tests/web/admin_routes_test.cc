// The operator dashboard through the real HttpServer (ApiServer on
// 127.0.0.1:0) against a fake OperatorConsole: authentication, the cookie,
// CSRF, the actions, and hostile initiator text rendered as text.
#include "web/admin_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "web/api_server.h"
#include "web/fake_disk_service.h"
#include "web/fake_operator_console.h"
#include "web/http_test_client.h"

namespace scsipub::web {
namespace {

using nlohmann::json;
using testing::FakeDiskService;
using testing::FakeOperatorConsole;
using testing::Headers;
using testing::HttpReply;
using Reply = std::optional<HttpReply>;

constexpr char kHostile[] = "<script>alert(1)</script>\"'&";
constexpr char kHostileEscaped[] = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;";

control::OperatorSnapshot sample_snapshot() {
  control::OperatorSnapshot s;
  s.taken_at_ms = 1'765'000'000'000;
  control::LiveSession normal;
  normal.id = 7;
  normal.target = "iqn.2025-01.pub.scsipub:debian";
  normal.kind = "image";
  normal.luns = {0};
  normal.initiator_name = kHostile;
  normal.isid = "400001370000";
  normal.peer_address = "127.0.0.1:40000";
  normal.connected_since_ms = 1'765'000'000'000;
  normal.read_bytes = 1536;
  normal.read_commands = 3;
  normal.read_iops = 2.5;
  normal.overlay_bytes = 4096;
  normal.write_limit = 64u << 20;
  s.sessions.push_back(normal);
  control::LiveSession discovery;
  discovery.id = 8;
  discovery.discovery = true;
  discovery.kind = "discovery";
  discovery.initiator_name = "iqn.1994-05.com.redhat:disc";
  discovery.isid = "400001370001";
  discovery.peer_address = "127.0.0.2:40001";
  s.sessions.push_back(discovery);
  s.refused.push_back({1'765'000'000'000, "127.0.0.3:1", kHostile, std::string("iqn.evil:") + kHostile, "unknown target", 4});
  s.limit_hits = {{"sessions_total", 0}, {"chap_failures", 2}};
  control::OperatorDisk disk;
  disk.disk.id = "d1";
  disk.disk.target = "iqn.2025-01.pub.scsipub:disk.d1";
  disk.disk.luns = {{0, "debian", 1 << 20, 0, 0}};
  disk.disk.sessions = {{kHostile, "400001370002", "127.0.0.4:2"}};
  disk.account_id = "alice";
  disk.tier = "standard";
  s.disks.push_back(disk);
  s.images = {{"blank", 64u << 20, "iqn.2025-01.pub.scsipub:blank"}, {"debian", 1 << 20, "iqn.2025-01.pub.scsipub:debian"}};
  return s;
}

class AdminRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    console_.set_snapshot(sample_snapshot());
    start({});
  }

  void start(AdminAuthConfig admin) {
    server_.reset();
    server_ = std::make_unique<ApiServer>(service_, ApiServerConfig{.host = "127.0.0.1",
                                                                   .port = 0,
                                                                   .threads = 2,
                                                                   .limit_events = &limits_,
                                                                   .operator_console = &console_,
                                                                   .admin = admin});
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
  }

  Reply call(const std::string& method, const std::string& path, const Headers& headers = {},
             const std::string& body = {}) {
    return testing::http_request(server_->port(), method, path, headers, body);
  }

  static Headers bearer(const std::string& token = FakeOperatorConsole::kToken) {
    return {{"Authorization", "Bearer " + token}};
  }

  Reply login(const std::string& token = FakeOperatorConsole::kToken, Headers extra = {}) {
    extra.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return call("POST", "/admin/login", extra, "token=" + token);
  }

  // Logs in; the "name=value" to send back as Cookie.
  std::string login_cookie() {
    Reply r = login();
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, 303);
    std::string set = r->header("Set-Cookie");
    return set.substr(0, set.find(';'));
  }

  // The CSRF token the dashboard renders for this cookie.
  std::string csrf_of(const std::string& cookie) {
    Reply r = call("GET", "/admin", {{"Cookie", cookie}});
    EXPECT_TRUE(r && r->status == 200);
    if (!r) return {};
    std::smatch m;
    static const std::regex kMeta("<meta name=\"csrf-token\" content=\"([0-9a-f]+)\">");
    EXPECT_TRUE(std::regex_search(r->body, m, kMeta)) << r->body.substr(0, 600);
    return m.empty() ? std::string() : m[1].str();
  }

  FakeDiskService service_;
  FakeOperatorConsole console_;
  LimitEvents limits_;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(AdminRoutesTest, EveryAdminEndpointIs401WithoutAuthOrWithAWrongToken) {
  const std::vector<std::pair<std::string, std::string>> endpoints = {
      {"GET", "/api/v1/admin/sessions"},          {"GET", "/api/v1/admin/snapshot"},
      {"POST", "/api/v1/admin/sessions/7/end"},   {"DELETE", "/api/v1/admin/disks/d1"},
      {"POST", "/admin/logout"},                  {"POST", "/admin/sessions/7/end"},
      {"POST", "/admin/disks/d1/delete"},
  };
  for (const auto& [method, path] : endpoints) {
    for (const Headers& h : {Headers{}, bearer("wrong-token"), bearer(""), Headers{{"Authorization", "Basic b3A6b3A="}},
                             Headers{{"Cookie", "scsipub_admin=" + std::string(64, 'a')}}}) {
      Reply r = call(method, path, h, "csrf_token=x&confirm=yes");
      ASSERT_TRUE(r) << method << " " << path;
      EXPECT_EQ(r->status, 401) << method << " " << path << " " << r->body;
      EXPECT_EQ(r->body.find(kHostile), std::string::npos);
    }
  }
  Reply wrong = call("GET", "/api/v1/admin/sessions", bearer("wrong-token"));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->header("WWW-Authenticate"), "Bearer error=\"invalid_token\"");
  EXPECT_TRUE(console_.ended().empty());
  EXPECT_TRUE(console_.deleted().empty());
}

TEST_F(AdminRoutesTest, AdminRedirectsToTheLoginFormWithoutAuth) {
  for (const Headers& h : {Headers{}, bearer("wrong-token"), Headers{{"Cookie", "scsipub_admin=forged"}}}) {
    Reply r = call("GET", "/admin", h);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 303);
    EXPECT_EQ(r->header("Location"), "/admin/login");
    EXPECT_EQ(r->body.find(kHostileEscaped), std::string::npos);
  }
  Reply form = call("GET", "/admin/login");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 200);
  EXPECT_NE(form->body.find("<form id=\"login\" method=\"post\" action=\"/admin/login\">"), std::string::npos);
  EXPECT_NE(form->body.find("name=\"token\""), std::string::npos);
  EXPECT_NE(form->header("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_NE(form->header("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(form->header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(form->header("Referrer-Policy"), "no-referrer");
}

TEST_F(AdminRoutesTest, LoginSetsAnHttpOnlySameSiteStrictCookie) {
  Reply r = login();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 303);
  EXPECT_EQ(r->header("Location"), "/admin");
  const std::string set = r->header("Set-Cookie");
  EXPECT_TRUE(std::regex_search(set, std::regex("^scsipub_admin=[0-9a-f]{64}; "))) << set;
  EXPECT_NE(set.find("; HttpOnly"), std::string::npos) << set;
  EXPECT_NE(set.find("; SameSite=Strict"), std::string::npos) << set;
  EXPECT_NE(set.find("; Path=/"), std::string::npos) << set;
  EXPECT_EQ(set.find("Secure"), std::string::npos) << "plain HTTP: no Secure flag: " << set;

  const std::string cookie = set.substr(0, set.find(';'));
  Reply page = call("GET", "/admin", {{"Cookie", "other=1; " + cookie}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<table id=\"sessions\">"), std::string::npos);
  EXPECT_NE(page->body.find("<tr data-session-id=\"7\">"), std::string::npos);

  Reply wrong = login("not-the-token");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_TRUE(wrong->header("Set-Cookie").empty());
  EXPECT_NE(wrong->body.find("form id=\"login\""), std::string::npos);
}

TEST_F(AdminRoutesTest, SecureOnlyWhenAConfiguredProxySaysHttps) {
  Reply untrusted = login(FakeOperatorConsole::kToken, {{"X-Forwarded-Proto", "https"}});
  ASSERT_TRUE(untrusted);
  EXPECT_EQ(untrusted->header("Set-Cookie").find("Secure"), std::string::npos);
  start({.trust_forwarded_proto = true});
  Reply trusted = login(FakeOperatorConsole::kToken, {{"X-Forwarded-Proto", "https"}});
  ASSERT_TRUE(trusted);
  EXPECT_NE(trusted->header("Set-Cookie").find("; Secure"), std::string::npos);
}

TEST_F(AdminRoutesTest, CookieActionsNeedTheCsrfTokenAndTheSameOrigin) {
  const std::string cookie = login_cookie();
  const std::string csrf = csrf_of(cookie);
  ASSERT_EQ(csrf.size(), 64u);

  auto end7 = [&](Headers h) {
    h.emplace_back("Cookie", cookie);
    Reply r = call("POST", "/api/v1/admin/sessions/7/end", h);
    return r ? r->status : 0;
  };
  EXPECT_EQ(end7({}), 403);
  EXPECT_EQ(end7({{"X-CSRF-Token", std::string(64, '0')}}), 403);
  EXPECT_EQ(end7({{"X-CSRF-Token", csrf.substr(0, 63)}}), 403);
  EXPECT_EQ(end7({{"X-CSRF-Token", csrf}, {"Origin", "http://evil.example"}}), 403);
  EXPECT_EQ(end7({{"X-CSRF-Token", csrf}, {"Origin", "null"}}), 403);
  EXPECT_EQ(end7({{"X-CSRF-Token", csrf}, {"Sec-Fetch-Site", "cross-site"}}), 403);
  EXPECT_EQ(end7({{"X-CSRF-Token", csrf}, {"Origin", "null"}, {"Sec-Fetch-Site", "cross-site"}}), 403);
  EXPECT_EQ(end7({{"X-CSRF-Token", csrf}, {"Origin", "http://127.0.0.1"}, {"Sec-Fetch-Site", "same-site"}}), 403);
  EXPECT_TRUE(console_.ended().empty());

  EXPECT_EQ(end7({{"X-CSRF-Token", csrf}}), 202);
  EXPECT_EQ(end7({{"X-CSRF-Token", csrf}, {"Origin", "http://127.0.0.1"}, {"Sec-Fetch-Site", "same-origin"}}), 202);
  // What a browser sends from our no-referrer pages.
  EXPECT_EQ(end7({{"X-CSRF-Token", csrf}, {"Origin", "null"}, {"Sec-Fetch-Site", "same-origin"}}), 202);
  EXPECT_EQ(console_.ended(), (std::vector<uint64_t>{7, 7, 7}));

  Reply missing = call("POST", "/api/v1/admin/sessions/999/end", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  Reply del_no_csrf = call("DELETE", "/api/v1/admin/disks/d1", {{"Cookie", cookie}});
  ASSERT_TRUE(del_no_csrf);
  EXPECT_EQ(del_no_csrf->status, 403);
  EXPECT_TRUE(console_.deleted().empty());
  Reply del = call("DELETE", "/api/v1/admin/disks/d1", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 204);
  EXPECT_EQ(console_.deleted(), (std::vector<std::string>{"d1"}));

  // Reading needs no CSRF token.
  Reply feed = call("GET", "/api/v1/admin/snapshot", {{"Cookie", cookie}});
  ASSERT_TRUE(feed);
  EXPECT_EQ(feed->status, 200);
}

TEST_F(AdminRoutesTest, TheNoJavaScriptFormsCarryTheTokenAndDeleteAsksFirst) {
  const std::string cookie = login_cookie();
  const std::string csrf = csrf_of(cookie);
  const Headers h = {{"Cookie", cookie}, {"Content-Type", "application/x-www-form-urlencoded"}};

  Reply bad = call("POST", "/admin/sessions/7/end", h, "csrf_token=nope");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 403);
  Reply end = call("POST", "/admin/sessions/7/end", h, "csrf_token=" + csrf);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->status, 303);
  EXPECT_EQ(end->header("Location"), "/admin");
  EXPECT_EQ(console_.ended(), (std::vector<uint64_t>{7}));

  Reply ask = call("POST", "/admin/disks/d1/delete", h, "csrf_token=" + csrf);
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->status, 200);
  EXPECT_NE(ask->body.find("name=\"confirm\" value=\"yes\""), std::string::npos);
  EXPECT_TRUE(console_.deleted().empty()) << "the first POST only asks";
  Reply del = call("POST", "/admin/disks/d1/delete", h, "csrf_token=" + csrf + "&confirm=yes");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 303);
  EXPECT_EQ(console_.deleted(), (std::vector<std::string>{"d1"}));

  Reply logout_no_csrf = call("POST", "/admin/logout", h, "");
  ASSERT_TRUE(logout_no_csrf);
  EXPECT_EQ(logout_no_csrf->status, 403);
  Reply logout = call("POST", "/admin/logout", h, "csrf_token=" + csrf);
  ASSERT_TRUE(logout);
  EXPECT_EQ(logout->status, 303);
  EXPECT_NE(logout->header("Set-Cookie").find("Max-Age=0"), std::string::npos);
  Reply after = call("GET", "/admin", {{"Cookie", cookie}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 303) << "the session ended with the logout";
}

TEST_F(AdminRoutesTest, BearerCallersNeedNoCsrfToken) {
  Reply end = call("POST", "/api/v1/admin/sessions/8/end", bearer());
  ASSERT_TRUE(end);
  EXPECT_EQ(end->status, 202);
  Reply del = call("DELETE", "/api/v1/admin/disks/d1", bearer());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 204);
  Reply none = call("DELETE", "/api/v1/admin/disks/nosuch", bearer());
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
  Reply odd = call("DELETE", "/api/v1/admin/disks/%3Cx%3E", bearer());
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->status, 404);
  Reply big = call("POST", "/api/v1/admin/sessions/99999999999999999999999/end", bearer());
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 404);
  EXPECT_EQ(console_.ended(), (std::vector<uint64_t>{8}));
  EXPECT_EQ(console_.deleted(), (std::vector<std::string>{"d1"}));
}

TEST_F(AdminRoutesTest, HostileInitiatorTextIsEscapedInHtmlAndExactInJson) {
  Reply page = call("GET", "/admin", bearer());
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  EXPECT_EQ(page->body.find("<script>alert"), std::string::npos);
  EXPECT_EQ(page->body.find("\"'&<"), std::string::npos);
  EXPECT_NE(page->body.find(std::string("<td class=\"initiator\">") + kHostileEscaped + "</td>"), std::string::npos);
  EXPECT_NE(page->body.find(std::string("<td class=\"target\">iqn.evil:") + kHostileEscaped + "</td>"),
            std::string::npos);
  // The only script is the external one; no inline style either.
  std::regex script("<script[^>]*>");
  for (auto it = std::sregex_iterator(page->body.begin(), page->body.end(), script); it != std::sregex_iterator(); ++it) {
    EXPECT_EQ(it->str(), "<script src=\"/static/admin.js\" defer>");
  }
  EXPECT_EQ(page->body.find("style="), std::string::npos);
  EXPECT_FALSE(std::regex_search(page->body, std::regex("<[^>]*\\son[a-z]+=")));  // no inline handlers

  for (const char* path : {"/api/v1/admin/snapshot", "/api/v1/admin/sessions"}) {
    Reply feed = call("GET", path, bearer());
    ASSERT_TRUE(feed);
    ASSERT_EQ(feed->status, 200);
    EXPECT_EQ(feed->header("Content-Type"), "application/json");
    EXPECT_EQ(feed->header("X-Content-Type-Options"), "nosniff");
    json j = json::parse(feed->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << feed->body;
    EXPECT_EQ(j["sessions"][0]["initiator_name"], kHostile);
    EXPECT_NE(feed->body.find(R"(<script>alert(1)</script>\"'&)"), std::string::npos) << "a JSON string, quote escaped";
  }
  json snap = json::parse(call("GET", "/api/v1/admin/snapshot", bearer())->body);
  EXPECT_EQ(snap["refused"][0]["target_name"], std::string("iqn.evil:") + kHostile);
  EXPECT_EQ(snap["disks"][0]["sessions"][0]["initiator_name"], kHostile);
}

TEST_F(AdminRoutesTest, InvalidUtf8FromAnInitiatorStillGivesValidJson) {
  auto snap = sample_snapshot();
  snap.sessions[0].initiator_name = std::string("iqn.x:\xff\xfe\x80", 9);
  console_.set_snapshot(snap);
  Reply feed = call("GET", "/api/v1/admin/snapshot", bearer());
  ASSERT_TRUE(feed);
  EXPECT_EQ(feed->status, 200);
  EXPECT_FALSE(json::parse(feed->body, nullptr, false).is_discarded());
}

TEST_F(AdminRoutesTest, SessionsJsonUsesTheContractFieldNames) {
  Reply r = call("GET", "/api/v1/admin/sessions", bearer());
  ASSERT_TRUE(r);
  json j = json::parse(r->body);
  ASSERT_EQ(j["sessions"].size(), 2u);
  const json& s = j["sessions"][0];
  for (const char* key : {"id", "discovery", "target", "kind", "luns", "initiator_name", "isid", "peer_address", "tls",
                          "authenticated", "connected_since_ms", "read_bytes", "write_bytes", "read_commands",
                          "write_commands", "read_iops", "write_iops", "read_bytes_per_second",
                          "write_bytes_per_second", "overlay_bytes", "write_limit"}) {
    EXPECT_TRUE(s.contains(key)) << key;
  }
  EXPECT_EQ(s["id"], 7);
  EXPECT_EQ(s["read_bytes"], 1536);
  EXPECT_EQ(s["overlay_bytes"], 4096);
  EXPECT_TRUE(j["sessions"][1]["overlay_bytes"].is_null());
  EXPECT_EQ(j["sessions"][1]["discovery"], true);
}

TEST_F(AdminRoutesTest, ExpiredUnknownAndRevokedCookiesAreRefused) {
  start({.session_ttl = std::chrono::seconds(1), .recheck_interval = std::chrono::seconds(0)});
  const std::string cookie = login_cookie();
  Reply ok = call("GET", "/api/v1/admin/sessions", {{"Cookie", cookie}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  Reply expired = call("GET", "/api/v1/admin/sessions", {{"Cookie", cookie}});
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, 401);
  Reply page = call("GET", "/admin", {{"Cookie", cookie}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 303);

  std::string unknown = cookie;
  unknown.back() = unknown.back() == '0' ? '1' : '0';
  Reply forged = call("GET", "/api/v1/admin/sessions", {{"Cookie", unknown}});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 401);

  start({.recheck_interval = std::chrono::seconds(0)});
  const std::string live = login_cookie();
  Reply before = call("GET", "/api/v1/admin/sessions", {{"Cookie", live}});
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 200);
  console_.revoke();
  Reply after = call("GET", "/api/v1/admin/sessions", {{"Cookie", live}});
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401) << "a revoked operator token ends its dashboard sessions";
}

TEST_F(AdminRoutesTest, LiveSessionsAreBoundedOldestGoesFirst) {
  start({.max_sessions = 2});
  const std::string first = login_cookie();
  const std::string second = login_cookie();
  const std::string third = login_cookie();
  auto status = [&](const std::string& c) {
    Reply r = call("GET", "/api/v1/admin/sessions", {{"Cookie", c}});
    return r ? r->status : 0;
  };
  EXPECT_EQ(status(first), 401);
  EXPECT_EQ(status(second), 200);
  EXPECT_EQ(status(third), 200);
  EXPECT_EQ(limits_.count(Limit::admin_sessions), 1u);
}

TEST_F(AdminRoutesTest, LoginFromAnotherOriginIsRefused) {
  Reply r = login(FakeOperatorConsole::kToken, {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_TRUE(r->header("Set-Cookie").empty());
}

TEST_F(AdminRoutesTest, TheScriptIsServedAndWritesNoMarkup) {
  Reply js = call("GET", "/static/admin.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(js->body.find("/api/v1/admin/snapshot"), std::string::npos);
  EXPECT_NE(js->body.find("textContent"), std::string::npos);
  EXPECT_EQ(js->body.find("innerHTML"), std::string::npos);
  EXPECT_EQ(js->body.find("insertAdjacentHTML"), std::string::npos);
  EXPECT_EQ(js->body.find("document.write"), std::string::npos);
  Reply css = call("GET", "/static/admin.css");
  ASSERT_TRUE(css);
  EXPECT_EQ(css->status, 200);
  EXPECT_EQ(css->header("Content-Type"), "text/css; charset=utf-8");
}

// --- the pieces -------------------------------------------------------------------

TEST(AdminAuthParts, CookieValue) {
  EXPECT_EQ(cookie_value("a=1; scsipub_admin=abc; b=2", "scsipub_admin"), std::optional<std::string_view>("abc"));
  EXPECT_EQ(cookie_value("scsipub_admin=\"q\"", "scsipub_admin"), std::optional<std::string_view>("q"));
  EXPECT_EQ(cookie_value("xscsipub_admin=abc", "scsipub_admin"), std::nullopt);
  EXPECT_EQ(cookie_value("", "scsipub_admin"), std::nullopt);
  EXPECT_EQ(cookie_value(";;;=;", "scsipub_admin"), std::nullopt);
}

TEST(AdminAuthParts, FormValue) {
  EXPECT_EQ(form_value("token=a%2Bb+c&x=1", "token"), std::optional<std::string>("a+b c"));
  EXPECT_EQ(form_value("x=1&token=", "token"), std::optional<std::string>(""));
  EXPECT_EQ(form_value("token=%4", "token"), std::nullopt);
  EXPECT_EQ(form_value("token=%zz", "token"), std::nullopt);
  EXPECT_EQ(form_value("tokens=1", "token"), std::nullopt);
  EXPECT_EQ(form_value("", "token"), std::nullopt);
}

TEST(AdminAuthParts, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace scsipub::web
