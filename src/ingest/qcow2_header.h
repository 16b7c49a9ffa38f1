#pragma once
// Checks a qcow2 header before any converter opens the file. qemu-img opens
// a qcow2's external data file (and, for conversion, its backing file) as a
// path on OUR host, named by the image's author; refusing such images by
// reading the header ourselves means qemu-img never sees them at all. The
// qemu-img info check (qemu_img_info.h) repeats the refusal as a second line.
// Layout: qemu's docs/interop/qcow2.txt ("Header", "Header extensions").
#include <cstdint>
#include <span>

#include "common/result.h"

namespace scsipub::ingest {

struct Qcow2Header {
  uint32_t version = 0;
  uint64_t virtual_size = 0;
};

// Pure, bounds-checked. Refuses: a backing file, an external data file
// (incompatible feature bit 2 or a "data file name" extension), encryption,
// a virtual size above `max_virtual_size`, and a header that does not fit in
// `head` (a truncated file).
Result<Qcow2Header> check_qcow2_header(std::span<const uint8_t> head, uint64_t max_virtual_size);

}  // namespace scsipub::ingest
