#pragma once
// The operator API's catalog routes, behind the same
// operator authentication and CSRF rules as the rest of /api/v1/admin:
//
//   GET    /api/v1/admin/images              {"images": [...], "jobs": [...]}
//   POST   /api/v1/admin/images              (CSRF) starts an import from an http(s) URL: 202 {"job": {...}}
//   GET    /api/v1/admin/images/jobs/{id}    one import job
//   DELETE /api/v1/admin/images/{name}       (CSRF) 204; 404; 409 while a provisioned disk builds on it
#include "control/catalog_admin.h"
#include "web/admin_auth.h"
#include "web/http_router.h"

namespace scsipub::web {

// The routes capture `catalog` and `auth` by reference: both must outlive the router's use.
void add_catalog_admin_routes(HttpRouter& router, control::CatalogAdmin& catalog, AdminAuth& auth);

}  // namespace scsipub::web
