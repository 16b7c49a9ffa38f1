#include "web/api_server.h"

#include <spdlog/spdlog.h>

#include <optional>
#include <string_view>
#include <utility>

#include "web/admin_routes.h"
#include "web/api_json.h"
#include "web/site_routes.h"

namespace scsipub::web {
namespace {

constexpr size_t kMaxTokenLength = 512;  // longer is not a token we issued
constexpr size_t kMaxIdLength = 128;
constexpr char kJson[] = "application/json";

// Ids are ours; anything outside their alphabet cannot name a disk, and is
// never handed on (nor logged raw) by way of the service.
bool plausible_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

int http_status(control::ServiceErrc code) {
  switch (code) {
    case control::ServiceErrc::bad_request: return 400;
    case control::ServiceErrc::unauthorized: return 401;
    case control::ServiceErrc::not_found: return 404;
    case control::ServiceErrc::limit_exceeded: return 403;
    case control::ServiceErrc::conflict: return 409;
    case control::ServiceErrc::internal: return 500;
  }
  return 500;
}

HttpResponse reply(int status, const nlohmann::json& body) { return {status, kJson, dump(body), {}}; }

// 4xx messages are written for the client; a 5xx names only the request
// id, because its detail (paths, database errors) is ours.
HttpResponse error_reply(int status, std::string_view message, std::string_view request_id) {
  if (status >= 500) {
    nlohmann::json j = error_json("internal error");
    j["request_id"] = request_id;
    return reply(status, j);
  }
  return reply(status, error_json(message));
}

HttpResponse unauthorized(bool token_given, std::string_view message) {
  // RFC 6750 3: a bad token is told apart from a missing one.
  HttpResponse r = reply(401, error_json(message));
  r.headers.emplace_back("WWW-Authenticate", token_given ? "Bearer error=\"invalid_token\"" : "Bearer");
  return r;
}

HttpResponse service_error(const HttpRequest& req, const control::ServiceError& e) {
  int status = http_status(e.code);
  if (status >= 500) {
    spdlog::error("api [{}] {} {}: {}", req.request_id, req.method, req.path, e.message);
  }
  if (status == 401) return unauthorized(true, e.message);
  return error_reply(status, e.message, req.request_id);
}

// The token of "Authorization: Bearer <token>" (scheme case-insensitive,
// RFC 7235 2.1), or nothing.
std::optional<std::string> bearer_token(const HttpRequest& req) {
  std::string_view header = req.header("Authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = header[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return std::nullopt;
  }
  size_t begin = header.find_first_not_of(' ', kScheme.size());
  size_t end = header.find_last_not_of(' ');
  if (begin == std::string_view::npos) return std::nullopt;
  std::string token(header.substr(begin, end + 1 - begin));
  if (token.empty() || token.size() > kMaxTokenLength) return std::nullopt;
  return token;
}

// Runs `body` for an authenticated caller, or answers 401.
template <typename Body>
HttpResponse with_caller(control::DiskService& service, const HttpRequest& req, Body body) {
  auto token = bearer_token(req);
  if (!token) return unauthorized(false, "an Authorization: Bearer token is required");
  auto caller = service.authenticate(*token);
  if (!caller) return service_error(req, caller.error());
  return body(*caller);
}

}  // namespace

ApiServer::ApiServer(control::DiskService& service, ApiServerConfig config)
    : service_(service),
      config_(std::move(config)),
      http_(HttpServerConfig{.host = config_.host,
                             .port = config_.port,
                             .threads = config_.threads,
                             .max_body = kMaxRequestBody,
                             .limits = config_.limits,
                             .limit_events = config_.limit_events,
                             .error_response = error_reply},
            [this](const HttpRequest& req) { return handle(req); }) {
  control::DiskService& s = service_;
  router_.add("GET", "/api/v1/images", [this, &s](const HttpRequest&) {
    std::vector<std::string> multi;
    if (config_.site && config_.site->multi_images) multi = config_.site->multi_images();
    return reply(200, images_json(s.images(), s.portals().plain, multi));
  });
  router_.add("GET", "/api/v1/disks", [&s](const HttpRequest& req) {
    return with_caller(s, req, [&](const control::Caller& caller) {
      auto disks = s.list_disks(caller);
      if (!disks) return service_error(req, disks.error());
      // A listing is what ends up in dashboards and logs; secrets are
      // fetched one disk at a time.
      return reply(200, disks_json(*disks, s.portals(), /*include_secret=*/false));
    });
  });
  router_.add("POST", "/api/v1/disks", [&s](const HttpRequest& req) {
    return with_caller(s, req, [&](const control::Caller& caller) {
      auto request = parse_create_disk_request(req.body);
      if (!request) return reply(400, error_json(request.error()));
      auto disk = s.create_disk(caller, *request);
      if (!disk) return service_error(req, disk.error());
      return reply(201, to_json(*disk, s.portals(), /*include_secret=*/true));
    });
  });
  router_.add("GET", "/api/v1/disks/{id}", [&s](const HttpRequest& req) {
    return with_caller(s, req, [&](const control::Caller& caller) {
      const std::string& id = req.params.at(0);
      if (!plausible_id(id)) return reply(404, error_json("no such disk"));
      auto disk = s.get_disk(caller, id);
      if (!disk) return service_error(req, disk.error());
      return reply(200, to_json(*disk, s.portals(), /*include_secret=*/true));
    });
  });
  router_.add("DELETE", "/api/v1/disks/{id}", [&s](const HttpRequest& req) {
    return with_caller(s, req, [&](const control::Caller& caller) {
      const std::string& id = req.params.at(0);
      if (!plausible_id(id)) return reply(404, error_json("no such disk"));
      auto done = s.delete_disk(caller, id);
      if (!done) return service_error(req, done.error());
      return HttpResponse{204, "", "", {}};
    });
  });
  if (config_.operator_console != nullptr) {
    admin_ = std::make_unique<AdminRoutes>(*config_.operator_console, config_.admin, config_.limit_events,
                                           config_.catalog_admin);
    admin_->add_routes(router_);
  }
  if (config_.metrics) {
    router_.add("GET", "/metrics", [this](const HttpRequest&) {
      return HttpResponse{200, "text/plain; version=0.0.4", config_.metrics(), {}};
    });
  }
  if (config_.site) {
    site_ = std::make_unique<SiteRoutes>(service_, *config_.site);
    site_->add_routes(router_);
  }
}

ApiServer::~ApiServer() { stop(); }

HttpResponse ApiServer::handle(const HttpRequest& req) const {
  auto match = router_.match(req.method, req.path);
  if (match.handler != nullptr) {
    // Only routes with placeholders need a request carrying their values;
    // the others (the pages, the catalog) are answered without a copy.
    if (match.params.empty()) return (*match.handler)(req);
    HttpRequest routed = req;
    routed.params = std::move(match.params);
    return (*match.handler)(routed);
  }
  if (!match.allow.empty()) {
    HttpResponse r = reply(405, error_json("method not allowed on this endpoint"));
    r.headers.emplace_back("Allow", match.allow);
    return r;
  }
  return reply(404, error_json(req.path.starts_with("/api/") ? "no such API endpoint" : "not found"));
}

Status ApiServer::start() {
  auto started = http_.start();
  if (started) spdlog::info("HTTP API on http://{}:{}", config_.host, http_.port());
  return started;
}

void ApiServer::stop() { http_.stop(); }

}  // namespace scsipub::web
