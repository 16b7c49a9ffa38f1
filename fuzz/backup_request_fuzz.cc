// The backup's hostile inputs: the control socket's request line (a local
// client) and a backup directory's manifest.json (a backup from anywhere).
// Whatever parses must hold only what the parsers promise, and a manifest
// must survive its own round trip.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/backup_manifest.h"
#include "control/backup_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace scsipub::control;

  if (auto r = parse_backup_request(in); r.ok()) {
    if (r->dir.empty() || r->dir.front() != '/') std::abort();
    auto again = parse_backup_request(backup_request_line(*r));
    if (!again.ok() || !(*again == *r)) std::abort();
  }
  if (auto m = parse_manifest(in); m.ok()) {
    for (const auto& f : m->files) {
      if (!valid_backup_path(f.path)) std::abort();
    }
    auto again = parse_manifest(manifest_to_json(*m));
    if (!again.ok() || !(*again == *m)) std::abort();
  }
  return 0;
}
