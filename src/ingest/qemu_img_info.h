#pragma once
// Reads `qemu-img info --output=json` and refuses what must never be
// converted: a backing file, an external data file, extents in other files,
// encryption, a virtual size above the cap. qemu-img's output describes a
// file a stranger wrote, so every field is optional and type-checked here.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace scsipub::ingest {

struct QemuImageInfo {
  std::string format;         // "qcow2", "vmdk", "vpc", "vhdx"
  uint64_t virtual_size = 0;  // bytes the raw output will have
};

// Pure. `expected_format` is the -f we passed (qemu-img must agree);
// the JSON text is capped by the caller (the runner bounds stdout).
Result<QemuImageInfo> parse_qemu_img_info(std::string_view json_text, std::string_view expected_format,
                                          uint64_t max_virtual_size);

}  // namespace scsipub::ingest
