#include "web/site_routes.h"

#include <fmt/format.h>

#include <utility>

#include "web/api_docs_page.h"
#include "web/landing_page.h"
#include "web/page_layout.h"
#include "web/static_assets.h"
#include "web/target_commands.h"

namespace scsipub::web {
namespace {

constexpr char kHtml[] = "text/html; charset=utf-8";
// Pages change with the status numbers: revalidate every time (a 304 is
// cheap); assets are fetched by a versioned URL, so they may be kept.
constexpr char kPageCacheControl[] = "no-cache";
constexpr char kAssetCacheControl[] = "public, max-age=86400";

CachedPageOptions html_options() {
  return {kHtml, kPageCacheControl, html_security_headers()};
}

CachedPageOptions asset_options(const char* content_type) {
  return {content_type, kAssetCacheControl, {{"X-Content-Type-Options", "nosniff"}}};
}

}  // namespace

SiteRoutes::SiteRoutes(control::DiskService& service, SiteInfo info)
    : service_(service), info_(std::move(info)), asset_version_(static_assets_version()) {
  landing_ = std::make_unique<RefreshingPage>([this] { return render_landing(); }, html_options(), info_.refresh);
  // The documentation changes only with the portals; the same refresh keeps
  // it right if they ever do.
  api_docs_ = std::make_unique<RefreshingPage>([this] { return render_api_docs(); }, html_options(), info_.refresh);
  css_ = std::make_shared<const CachedPage>(std::string(site_css()), asset_options("text/css; charset=utf-8"));
  js_ = std::make_shared<const CachedPage>(std::string(site_js()),
                                           asset_options("text/javascript; charset=utf-8"));
}

std::string SiteRoutes::render_landing() const {
  LandingPageInputs in;
  in.images = service_.images();
  in.portals = service_.portals();
  if (info_.multi_images) in.multi_images = info_.multi_images();
  in.blank_write_limit = info_.blank_write_limit;
  in.image_write_limit = info_.image_write_limit;
  if (info_.status) in.status = info_.status();
  in.asset_version = asset_version_;
  return render_landing_page(in);
}

std::string SiteRoutes::render_api_docs() const {
  ApiDocsInputs in;
  in.portals = service_.portals();
  in.api_base_url = info_.api_base_url;
  if (in.api_base_url.empty()) {
    auto portal = parse_portal(in.portals.plain);
    in.api_base_url = fmt::format("http://{}:8080", portal ? portal->url_host() : std::string("localhost"));
  }
  in.asset_version = asset_version_;
  return render_api_docs_page(in);
}

void SiteRoutes::add_routes(HttpRouter& router) {
  router.add("GET", "/", [this](const HttpRequest& req) { return landing_->current()->respond(req); });
  router.add("GET", "/docs/api", [this](const HttpRequest& req) { return api_docs_->current()->respond(req); });
  router.add("GET", "/static/site.css", [this](const HttpRequest& req) { return css_->respond(req); });
  router.add("GET", "/static/site.js", [this](const HttpRequest& req) { return js_->respond(req); });
  router.add("GET", "/favicon.ico", [](const HttpRequest&) {
    HttpResponse r;
    r.status = 204;
    r.headers = {{"Cache-Control", kAssetCacheControl}};
    return r;
  });
}

}  // namespace scsipub::web
