#include "web/catalog_admin_routes.h"

#include <spdlog/spdlog.h>

#include <charconv>

#include "web/admin_replies.h"
#include "web/api_json.h"
#include "web/catalog_admin_json.h"

namespace scsipub::web {
namespace {

int http_status(control::ServiceErrc code) {
  switch (code) {
    case control::ServiceErrc::bad_request: return 400;
    case control::ServiceErrc::unauthorized: return 401;
    case control::ServiceErrc::not_found: return 404;
    case control::ServiceErrc::limit_exceeded: return 429;  // too many imports at once: try later
    case control::ServiceErrc::conflict: return 409;
    case control::ServiceErrc::internal: return 500;
  }
  return 500;
}

HttpResponse service_failure(const HttpRequest& req, const control::ServiceError& e, std::string_view what) {
  if (e.code == control::ServiceErrc::internal) {
    spdlog::error("admin [{}] {}: {}", req.request_id, what, e.message);
    return internal_error_json(req);
  }
  return json_reply(http_status(e.code), error_json(e.message));
}

}  // namespace

void add_catalog_admin_routes(HttpRouter& router, control::CatalogAdmin& catalog, AdminAuth& auth) {
  router.add("GET", "/api/v1/admin/images", [&](const HttpRequest& req) {
    AdminAuth::Caller caller = auth.authenticate(req);
    if (!caller) return unauthorized_json(caller);
    return json_reply(200, catalog_admin_json(catalog.images(), catalog.jobs()));
  });
  router.add("POST", "/api/v1/admin/images", [&](const HttpRequest& req) {
    AdminAuth::Caller caller = auth.authenticate(req);
    if (!caller) return unauthorized_json(caller);
    if (!auth.may_change_state(req, caller)) return csrf_refused_json();
    auto parsed = parse_image_add_request(req.body);
    if (!parsed.ok()) return json_reply(400, error_json(parsed.error()));
    auto job = catalog.add_image(*parsed);
    if (!job.ok()) return service_failure(req, job.error(), "add image");
    spdlog::info("admin [{}] {}: import job {} for image {}", req.request_id, req.peer, job->id, job->name);
    HttpResponse r = json_reply(202, {{"job", image_job_json(*job)}});
    r.headers.emplace_back("Location", "/api/v1/admin/images/jobs/" + std::to_string(job->id));
    return r;
  });
  router.add("GET", "/api/v1/admin/images/jobs/{id}", [&](const HttpRequest& req) {
    AdminAuth::Caller caller = auth.authenticate(req);
    if (!caller) return unauthorized_json(caller);
    const std::string& text = req.params.at(0);
    uint64_t id = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size()) return json_reply(404, error_json("no such job"));
    auto job = catalog.job(id);
    if (!job) return json_reply(404, error_json("no such job"));
    return json_reply(200, image_job_json(*job));
  });
  router.add("DELETE", "/api/v1/admin/images/{name}", [&](const HttpRequest& req) {
    AdminAuth::Caller caller = auth.authenticate(req);
    if (!caller) return unauthorized_json(caller);
    if (!auth.may_change_state(req, caller)) return csrf_refused_json();
    const std::string& name = req.params.at(0);
    auto done = catalog.remove_image(name);
    if (!done.ok()) return service_failure(req, done.error(), "remove image");
    spdlog::info("admin [{}] {}: removed image {}", req.request_id, req.peer, name);
    return HttpResponse{204, "", "", {{"Cache-Control", "no-store"}}};
  });
}

}  // namespace scsipub::web
