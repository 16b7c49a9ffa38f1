// Fuzzes the operator API's add-image body parser: any bytes must yield a
// request that keeps every promise the catalog relies on (a valid image
// name, an http(s) URL without control bytes or spaces, a well-formed
// checksum, a known presentation, bounded text) or an error message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/catalog.h"
#include "db/meta_store.h"
#include "web/catalog_admin_json.h"

using namespace scsipub;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = web::parse_image_add_request(body);
  if (!r) {
    if (r.error().empty()) abort();
    return 0;
  }
  if (!control::valid_image_name(r->name)) abort();
  if (!r->source.starts_with("http://") && !r->source.starts_with("https://")) abort();
  for (char c : r->source) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) abort();
  }
  if (!r->sha256.empty() && r->sha256.size() != 64) abort();
  if (r->presentation != "auto" && r->presentation != "disk" && r->presentation != "dvd") abort();
  if (r->title.size() > db::kMaxCatalogTitle || r->description.size() > db::kMaxCatalogDescription) abort();
  return 0;
}
