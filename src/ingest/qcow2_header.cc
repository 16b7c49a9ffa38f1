#include "ingest/qcow2_header.h"

#include <string>

namespace scsipub::ingest {
namespace {

constexpr size_t kV2HeaderLength = 72;
constexpr size_t kV3MinHeaderLength = 104;
constexpr uint64_t kIncompatExternalDataFile = 1u << 2;
constexpr uint32_t kExtEnd = 0;
constexpr uint32_t kExtExternalDataFile = 0x44415441;  // "DATA"
constexpr size_t kMaxExtensions = 64;                  // bounded walk

uint64_t be(std::span<const uint8_t> b, size_t offset, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v = (v << 8) | b[offset + i];
  return v;
}

}  // namespace

Result<Qcow2Header> check_qcow2_header(std::span<const uint8_t> head, uint64_t max_virtual_size) {
  if (head.size() < kV2HeaderLength) return fail("truncated qcow2 header");
  if (be(head, 0, 4) != 0x514649fbu) return fail("not a qcow2 header");
  Qcow2Header h;
  h.version = static_cast<uint32_t>(be(head, 4, 4));
  if (h.version != 2 && h.version != 3) return fail("qcow2 version " + std::to_string(h.version) + " is not accepted");
  if (be(head, 8, 8) != 0 || be(head, 16, 4) != 0) {
    return fail("qcow2 image has a backing file (a path on this host); convert it to a standalone image first");
  }
  const uint64_t cluster_bits = be(head, 20, 4);
  if (cluster_bits < 9 || cluster_bits > 21) return fail("qcow2 cluster_bits " + std::to_string(cluster_bits) + " is invalid");
  h.virtual_size = be(head, 24, 8);
  if (be(head, 32, 4) != 0) return fail("qcow2 image is encrypted");
  if (h.virtual_size > max_virtual_size) {
    return fail("virtual size " + std::to_string(h.virtual_size) + " bytes is above the cap of " +
                std::to_string(max_virtual_size) + " ([catalog] max_virtual_size)");
  }
  size_t extensions_at = kV2HeaderLength;
  if (h.version == 3) {
    if (head.size() < kV3MinHeaderLength) return fail("truncated qcow2 v3 header");
    if ((be(head, 72, 8) & kIncompatExternalDataFile) != 0) {
      return fail("qcow2 image has an external data file (a path on this host)");
    }
    const uint64_t header_length = be(head, 100, 4);
    if (header_length < kV3MinHeaderLength || header_length > head.size()) return fail("qcow2 header_length is invalid");
    extensions_at = static_cast<size_t>(header_length);
  }
  // Header extensions: type (4), length (4), data padded to 8 bytes. They end
  // with type 0, and all fit in the first cluster; a walk off our buffer
  // means a truncated or malformed file.
  size_t at = extensions_at;
  for (size_t n = 0; n < kMaxExtensions; ++n) {
    if (head.size() - at < 8) return fail("truncated qcow2 header extensions");
    const uint32_t type = static_cast<uint32_t>(be(head, at, 4));
    const uint64_t length = be(head, at + 4, 4);
    if (type == kExtEnd) return h;
    if (type == kExtExternalDataFile) return fail("qcow2 image names an external data file (a path on this host)");
    const uint64_t padded = (length + 7) & ~uint64_t{7};
    if (padded > head.size() - at - 8) return fail("truncated qcow2 header extension");
    at += 8 + static_cast<size_t>(padded);
  }
  return fail("too many qcow2 header extensions");
}

}  // namespace scsipub::ingest
