#pragma once
// The public pages on the API's HTTP server:
//
//   GET /                 the landing page (web/landing_page.h)
//   GET /docs/api         the session API documentation (web/api_docs_page.h)
//   GET /static/site.css  GET /static/site.js
//   GET /favicon.ico      204 (pages declare an empty data: icon; this is
//                         for clients that ask anyway, so none logs a 404)
//
// Pages are cached (web/refreshing_page.h) and served gzipped when accepted,
// with ETags; HTML answers carry the security headers of page_layout.h.
#include <memory>

#include "control/disk_service.h"
#include "web/cached_page.h"
#include "web/http_router.h"
#include "web/refreshing_page.h"
#include "web/site_info.h"

namespace scsipub::web {

class SiteRoutes {
 public:
  // `service` (images(), portals()) outlives this; it is called from the
  // rendering thread, at most once per info.refresh per page.
  SiteRoutes(control::DiskService& service, SiteInfo info);

  void add_routes(HttpRouter& router);

  RefreshingPage& landing_page() { return *landing_; }

 private:
  std::string render_landing() const;
  std::string render_api_docs() const;

  control::DiskService& service_;
  const SiteInfo info_;
  const std::string asset_version_;
  std::unique_ptr<RefreshingPage> landing_;
  std::unique_ptr<RefreshingPage> api_docs_;
  std::shared_ptr<const CachedPage> css_;
  std::shared_ptr<const CachedPage> js_;
};

}  // namespace scsipub::web
