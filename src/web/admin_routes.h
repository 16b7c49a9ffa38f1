#pragma once
// The operator dashboard's routes. ApiServer adds them
// when it is given a control::OperatorConsole.
//
//   GET  /admin                          dashboard HTML; 303 to /admin/login without auth
//   GET  /admin/login                    login form (form#login, field "token")
//   POST /admin/login                    sets the session cookie, 303 to /admin
//   POST /admin/logout                   (CSRF) clears it, 303 to /admin/login
//   POST /admin/sessions/{id}/end        (CSRF) the no-JavaScript form of the action below
//   POST /admin/disks/{id}/delete        (CSRF) confirmation page, then with confirm=yes deletes
//   GET  /static/admin.js, /static/admin.css   no auth: they hold no data
//   GET  /api/v1/admin/sessions          {"sessions": [LiveSession...]}
//   GET  /api/v1/admin/snapshot          the whole OperatorSnapshot (the dashboard polls it)
//   POST /api/v1/admin/sessions/{id}/end (CSRF) 202; 404 when no such session
//   DELETE /api/v1/admin/disks/{id}      (CSRF) 204; 404 when no such disk
//   /api/v1/admin/images...              the catalog (web/catalog_admin_routes.h)
//
// Everything but the login form, the assets and GET /admin answers 401
// without an operator token or session cookie; "(CSRF)" routes answer 403
// to a cookie-authenticated request without the session's CSRF token.
#include "common/limit_events.h"
#include "control/catalog_admin.h"
#include "control/operator_console.h"
#include "web/admin_auth.h"
#include "web/http_router.h"

namespace scsipub::web {

class AdminRoutes {
 public:
  // `catalog` (may be null) adds the catalog routes (web/catalog_admin_routes.h).
  AdminRoutes(control::OperatorConsole& console, AdminAuthConfig config, LimitEvents* limit_events,
              control::CatalogAdmin* catalog = nullptr);

  // The routes capture `this`: it must outlive the router's use.
  void add_routes(HttpRouter& router);

  AdminAuth& auth() { return auth_; }

 private:
  control::OperatorConsole& console_;
  control::CatalogAdmin* catalog_;
  AdminAuth auth_;
};

// The static assets (src/web/static/), embedded at build time.
extern const char* const kAdminJs;
extern const char* const kAdminCss;

}  // namespace scsipub::web
