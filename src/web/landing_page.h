#pragma once
// GET / : the public landing page, server-rendered HTML that reads without
// JavaScript (site.js only adds copy buttons). Pure: inputs in, bytes out;
// the caching and the headers are web::SiteRoutes'.
#include <cstdint>
#include <string>
#include <vector>

#include "control/disk_service.h"
#include "web/site_info.h"

namespace scsipub::web {

struct LandingPageInputs {
  std::vector<control::ImageInfo> images;  // DiskService::images(): "blank" first, then the catalog
  control::Portals portals;                // tls empty: no TLS section
  std::vector<std::string> multi_images;   // the `multi` target's LUNs
  uint64_t blank_write_limit = 0;          // 0 = the disk's size
  uint64_t image_write_limit = 0;
  SiteStatus status;
  std::string asset_version;  // StaticAssets::version(), for the stylesheet's and script's URLs
};

// The InitiatorName the boot examples use for the booting machine.
inline constexpr char kExampleInitiator[] = "iqn.2025-01.lan.example:pi-1";

std::string render_landing_page(const LandingPageInputs& in);

// "64 MiB", "1.5 GiB", "512 bytes": sizes for people.
std::string human_size(uint64_t bytes);

}  // namespace scsipub::web
