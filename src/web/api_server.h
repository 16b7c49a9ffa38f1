#pragma once
// The session API over HTTP: JSON in, JSON out, bearer tokens, status codes.
// Every rule lives behind control::DiskService; this class only routes,
// authenticates the header and translates errors to status codes. The
// transport and its limits against hostile clients are web::HttpServer's.
//
//   POST   /api/v1/disks        201 disk (with secrets and iscsiadm commands)
//   GET    /api/v1/disks        200 {"disks": [...]} (without secrets)
//   GET    /api/v1/disks/{id}   200 disk (with secrets and iscsiadm commands)
//   DELETE /api/v1/disks/{id}   204
//   GET    /api/v1/images       200 {"images": [...]} with each target's commands, no token needed
//   GET    /metrics             200 Prometheus text (when configured), no token
//   GET    /, /docs/api, /static/...  the public pages (when configured)
//
// Errors are {"error": "..."}; a 5xx says only "internal error" and a
// request_id, under which the detail is logged.
//
// DiskService is called from `threads` threads at once.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/limit_events.h"
#include "common/result.h"
#include "control/disk_service.h"
#include "web/admin_auth_config.h"
#include "web/http_router.h"
#include "web/http_server.h"
#include "web/site_info.h"

namespace scsipub::control {
class OperatorConsole;  // control/operator_console.h
class CatalogAdmin;     // control/catalog_admin.h
}  // namespace scsipub::control

namespace scsipub::web {

struct ApiServerConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = an ephemeral port, see ApiServer::port()
  size_t threads = 4;    // handler threads; requests beyond wait on their connection
  HttpLimits limits;
  // GET /metrics (Prometheus text, no token) when set; called per scrape.
  std::function<std::string()> metrics;
  LimitEvents* limit_events = nullptr;  // counts the HTTP limits clients meet
  // The operator dashboard (/admin, /api/v1/admin/..., web/admin_routes.h)
  // when set; it must outlive the server.
  control::OperatorConsole* operator_console = nullptr;
  // The catalog routes of the operator API (only with operator_console).
  control::CatalogAdmin* catalog_admin = nullptr;
  AdminAuthConfig admin;
  // The public pages (GET /, /docs/api, /static/*: web/site_routes.h) when
  // set; without it only the API answers.
  std::optional<SiteInfo> site;
};

class SiteRoutes;
class AdminRoutes;

class ApiServer {
 public:
  ApiServer(control::DiskService& service, ApiServerConfig config);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds, then serves on threads of its own until stop(). Fails (without
  // threads) when the address cannot be bound. Call once.
  Status start();
  // The bound port once start() succeeded.
  uint16_t port() const { return http_.port(); }
  // Stops accepting, closes every connection, joins. Idempotent.
  void stop();

 private:
  HttpResponse handle(const HttpRequest& req) const;

  control::DiskService& service_;
  ApiServerConfig config_;
  HttpRouter router_;
  std::unique_ptr<AdminRoutes> admin_;  // before http_: its routes run on http_'s threads
  std::unique_ptr<SiteRoutes> site_;
  HttpServer http_;
};

}  // namespace scsipub::web
