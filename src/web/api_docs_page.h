#pragma once
// GET /docs/api : the session API (the paid tier) for people: how to get a
// token, every endpoint, curl examples and what a disk looks like. The
// example JSON is produced by the API's own serializers (web/api_json.h), so
// the documentation cannot drift from the wire format.
#include <string>

#include "control/disk_service.h"

namespace scsipub::web {

struct ApiDocsInputs {
  control::Portals portals;
  std::string api_base_url;   // "https://scsipub.example"; shown in the curl examples
  std::string asset_version;  // static_assets_version()
};

std::string render_api_docs_page(const ApiDocsInputs& in);

}  // namespace scsipub::web
