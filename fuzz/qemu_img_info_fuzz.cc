// Fuzzes the parser of `qemu-img info --output=json`, whose fields describe a
// file a stranger wrote: any bytes must give checked info or an error, never
// a throw or crash; accepted info honours the cap and names the format asked for.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ingest/qemu_img_info.h"

using namespace scsipub::ingest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr uint64_t kCap = 1ull << 30;
  auto info = parse_qemu_img_info(text, "qcow2", kCap);
  if (info.ok()) {
    if (info->virtual_size > kCap || info->format != "qcow2") abort();
    // A backing file must never pass, whatever else the object holds.
    const auto root = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (!root.is_object() || root.contains("backing-filename") || root.contains("full-backing-filename")) abort();
  } else if (info.error().message.empty()) {
    abort();
  }
  return 0;
}
