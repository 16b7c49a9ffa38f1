#include "web/admin_routes.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <optional>
#include <string>
#include <utility>

#include "web/admin_json.h"
#include "web/admin_pages.h"
#include "web/admin_replies.h"
#include "web/api_json.h"
#include "web/catalog_admin_routes.h"

namespace scsipub::web {
namespace {

constexpr char kHtml[] = "text/html; charset=utf-8";
constexpr size_t kMaxDiskIdLength = 128;
constexpr size_t kMaxSessionIdDigits = 20;  // UINT64_MAX has 20

using Caller = AdminAuth::Caller;

HttpResponse html_reply(int status, std::string body) {
  return HttpResponse{status, kHtml, std::move(body), admin_page_headers()};
}

HttpResponse see_other(std::string_view location, std::optional<std::string> set_cookie = std::nullopt) {
  HttpResponse r = html_reply(303, render_message_page("Moved", "Continue at the address given."));
  r.headers.emplace_back("Location", std::string(location));
  if (set_cookie) r.headers.emplace_back("Set-Cookie", std::move(*set_cookie));
  return r;
}

HttpResponse unauthorized_html() {
  return html_reply(401, render_message_page("Log in first", "This needs an operator login: open /admin/login."));
}

HttpResponse csrf_refused_html() {
  return html_reply(403, render_message_page("Refused", "The form was stale or came from another site; reload the dashboard."));
}

std::optional<uint64_t> parse_session_id(std::string_view text) {
  if (text.empty() || text.size() > kMaxSessionIdDigits) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// Disk ids are ours; anything outside their alphabet names no disk.
bool plausible_disk_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxDiskIdLength) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

AdminRoutes::AdminRoutes(control::OperatorConsole& console, AdminAuthConfig config, LimitEvents* limit_events,
                         control::CatalogAdmin* catalog)
    : console_(console), catalog_(catalog), auth_(console, config, limit_events) {}

void AdminRoutes::add_routes(HttpRouter& router) {
  control::OperatorConsole& console = console_;
  AdminAuth& auth = auth_;

  // --- pages ----------------------------------------------------------------
  router.add("GET", "/admin", [&](const HttpRequest& req) {
    Caller caller = auth.authenticate(req);
    if (!caller) return see_other("/admin/login");
    return html_reply(200, render_dashboard(console.snapshot(), caller.csrf));
  });
  router.add("GET", "/admin/login", [](const HttpRequest&) { return html_reply(200, render_login_page({})); });
  router.add("POST", "/admin/login", [&](const HttpRequest& req) {
    // Login CSRF: another site must not log a browser into a session of its choosing.
    if (!auth.same_origin(req)) return csrf_refused_html();
    auto token = form_value(req.body, "token");
    auto cookie = token ? auth.login(req, *token) : std::nullopt;
    if (!cookie) {
      spdlog::info("admin [{}] {}: login with a wrong operator token", req.request_id, req.peer);
      return html_reply(401, render_login_page("That is not a valid operator token."));
    }
    spdlog::info("admin [{}] {}: dashboard login", req.request_id, req.peer);
    return see_other("/admin", std::move(cookie));
  });
  router.add("POST", "/admin/logout", [&](const HttpRequest& req) {
    Caller caller = auth.authenticate(req);
    if (!caller) return unauthorized_html();
    if (!auth.may_change_state(req, caller, form_value(req.body, kCsrfField))) return csrf_refused_html();
    return see_other("/admin/login", auth.logout(req, caller));
  });
  router.add("POST", "/admin/sessions/{id}/end", [&](const HttpRequest& req) {
    Caller caller = auth.authenticate(req);
    if (!caller) return unauthorized_html();
    if (!auth.may_change_state(req, caller, form_value(req.body, kCsrfField))) return csrf_refused_html();
    auto id = parse_session_id(req.params.at(0));
    if (!id) return html_reply(404, render_message_page("No such session", "It may have ended already."));
    auto done = console.end_session(*id);
    if (!done) {
      int status = done.error().code == control::ServiceErrc::not_found ? 404 : 500;
      return html_reply(status, render_message_page("Could not end the session", status == 404 ? "It may have ended already." : "Internal error; see the server log."));
    }
    spdlog::info("admin [{}] {}: ended session {}", req.request_id, req.peer, *id);
    return see_other("/admin");
  });
  router.add("POST", "/admin/disks/{id}/delete", [&](const HttpRequest& req) {
    Caller caller = auth.authenticate(req);
    if (!caller) return unauthorized_html();
    if (!auth.may_change_state(req, caller, form_value(req.body, kCsrfField))) return csrf_refused_html();
    const std::string& id = req.params.at(0);
    if (!plausible_disk_id(id)) return html_reply(404, render_message_page("No such disk", "Nothing was deleted."));
    if (form_value(req.body, "confirm") != std::optional<std::string>("yes")) {
      return html_reply(200, render_confirm_delete(id, caller.csrf));
    }
    auto done = console.delete_disk(id);
    if (!done) {
      int status = done.error().code == control::ServiceErrc::not_found ? 404 : 500;
      return html_reply(status, render_message_page("Could not delete the disk", status == 404 ? "No such disk." : "Internal error; see the server log."));
    }
    spdlog::info("admin [{}] {}: deleted disk {}", req.request_id, req.peer, id);
    return see_other("/admin");
  });

  // --- assets -----------------------------------------------------------------
  router.add("GET", "/static/admin.js", [](const HttpRequest&) {
    return HttpResponse{200, "text/javascript; charset=utf-8", kAdminJs,
                        {{"X-Content-Type-Options", "nosniff"}, {"Cache-Control", "no-cache"}}};
  });
  router.add("GET", "/static/admin.css", [](const HttpRequest&) {
    return HttpResponse{200, "text/css; charset=utf-8", kAdminCss,
                        {{"X-Content-Type-Options", "nosniff"}, {"Cache-Control", "no-cache"}}};
  });

  // --- JSON API ---------------------------------------------------------------
  router.add("GET", "/api/v1/admin/sessions", [&](const HttpRequest& req) {
    Caller caller = auth.authenticate(req);
    if (!caller) return unauthorized_json(caller);
    return json_text_reply(200, admin_sessions_json(console.snapshot().sessions));
  });
  router.add("GET", "/api/v1/admin/snapshot", [&](const HttpRequest& req) {
    Caller caller = auth.authenticate(req);
    if (!caller) return unauthorized_json(caller);
    return json_text_reply(200, snapshot_json(console.snapshot()));
  });
  router.add("POST", "/api/v1/admin/sessions/{id}/end", [&](const HttpRequest& req) {
    Caller caller = auth.authenticate(req);
    if (!caller) return unauthorized_json(caller);
    if (!auth.may_change_state(req, caller)) return csrf_refused_json();
    auto id = parse_session_id(req.params.at(0));
    if (!id) return json_reply(404, error_json("no such session"));
    auto done = console.end_session(*id);
    if (!done) {
      if (done.error().code == control::ServiceErrc::not_found) return json_reply(404, error_json("no such session"));
      spdlog::error("admin [{}] end session {}: {}", req.request_id, *id, done.error().message);
      return internal_error_json(req);
    }
    spdlog::info("admin [{}] {}: ended session {}", req.request_id, req.peer, *id);
    return json_reply(202, {{"status", "ending"}});
  });
  router.add("DELETE", "/api/v1/admin/disks/{id}", [&](const HttpRequest& req) {
    Caller caller = auth.authenticate(req);
    if (!caller) return unauthorized_json(caller);
    if (!auth.may_change_state(req, caller)) return csrf_refused_json();
    const std::string& id = req.params.at(0);
    if (!plausible_disk_id(id)) return json_reply(404, error_json("no such disk"));
    auto done = console.delete_disk(id);
    if (!done) {
      if (done.error().code == control::ServiceErrc::not_found) return json_reply(404, error_json("no such disk"));
      spdlog::error("admin [{}] delete disk {}: {}", req.request_id, id, done.error().message);
      return internal_error_json(req);
    }
    spdlog::info("admin [{}] {}: deleted disk {}", req.request_id, req.peer, id);
    return HttpResponse{204, "", "", {{"Cache-Control", "no-store"}}};
  });
  if (catalog_ != nullptr) add_catalog_admin_routes(router, *catalog_, auth);
}

}  // namespace scsipub::web
