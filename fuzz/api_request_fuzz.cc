// Fuzzes the session API's request parser: any bytes must yield a request
// within the documented limits or an error message, never a throw or crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "web/api_json.h"

using namespace scsipub::web;

namespace {

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxImageNameLength) return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = parse_create_disk_request(body);
  if (!r) {
    if (r.error().empty()) abort();
    return 0;
  }
  if (size > kMaxRequestBody) abort();
  if (r->images.empty() || r->images.size() > kMaxImagesPerDisk) abort();
  for (const auto& name : r->images) {
    if (!valid_name(name)) abort();
  }
  // What parsed must parse again, unchanged, from its canonical form.
  auto again = parse_create_disk_request(dump(nlohmann::json{{"images", r->images}}));
  if (!again || again->images != r->images) abort();
  return 0;
}
