#include "ingest/content_format.h"

#include <algorithm>
#include <cstring>

namespace scsipub::ingest {
namespace {

bool has_at(std::span<const uint8_t> bytes, size_t offset, std::string_view magic) {
  if (offset > bytes.size() || bytes.size() - offset < magic.size()) return false;
  return std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
}

uint32_t be32_at(std::span<const uint8_t> bytes, size_t offset) {
  return (uint32_t{bytes[offset]} << 24) | (uint32_t{bytes[offset + 1]} << 16) | (uint32_t{bytes[offset + 2]} << 8) |
         uint32_t{bytes[offset + 3]};
}

// A VMDK descriptor is a text file naming extent files by path (VMware
// "Virtual Disk Format 1.1", section "The Descriptor File"): every extent of
// it is a file outside the one we were given.
bool is_vmdk_descriptor(std::span<const uint8_t> head) {
  constexpr std::string_view kMarker = "# Disk DescriptorFile";
  const size_t n = std::min<size_t>(head.size(), 1024);
  std::string_view text(reinterpret_cast<const char*>(head.data()), n);
  return text.find(kMarker) != std::string_view::npos;
}

}  // namespace

SniffResult sniff_content(std::span<const uint8_t> head, std::span<const uint8_t> tail) {
  using namespace std::string_view_literals;
  if (has_at(head, 0, "QFI\xfb"sv)) {
    if (head.size() < 8) return {ContentFormat::refused, "truncated qcow2 header"};
    const uint32_t version = be32_at(head, 4);
    if (version == 2 || version == 3) return {ContentFormat::qcow2, {}};
    return {ContentFormat::refused, "qcow2 version " + std::to_string(version) + " (only 2 and 3 are accepted)"};
  }
  if (has_at(head, 0, "KDMV"sv)) return {ContentFormat::vmdk, {}};
  if (has_at(head, 0, "COWD"sv)) return {ContentFormat::refused, "VMDK ESX sparse (COWD) extents are not accepted"};
  if (is_vmdk_descriptor(head)) {
    return {ContentFormat::refused, "VMDK descriptor file: its extents are other files (upload a monolithic VMDK)"};
  }
  if (has_at(head, 0, "vhdxfile"sv)) return {ContentFormat::vhdx, {}};
  if (has_at(head, 0, "\xfd" "7zXZ\0"sv)) return {ContentFormat::xz, {}};
  if (has_at(head, 0, "\x1f\x8b"sv)) return {ContentFormat::gzip, {}};
  if (has_at(head, 0, "\x28\xb5\x2f\xfd"sv)) return {ContentFormat::zstd, {}};
  // ISO 9660 before VHD: a hybrid ISO is still an ISO. The volume descriptor
  // set starts at sector 16 (2048-byte sectors): type byte, then "CD001".
  if (has_at(head, 0x8001, "CD001"sv)) return {ContentFormat::iso, {}};
  // VHD: fixed disks have only the footer (last 512 bytes); dynamic ones
  // also a copy at offset 0 (Microsoft "VHD Image Format Specification").
  // qemu falls back to the copy when the footer is gone, then reads the
  // missing blocks as zeros: a dynamic VHD without its footer is truncated.
  if (has_at(tail, 0, "conectix"sv)) return {ContentFormat::vpc, {}};
  if (has_at(head, 0, "conectix"sv)) return {ContentFormat::refused, "VHD without its footer at the end (truncated?)"};
  return {ContentFormat::raw, {}};
}

std::string_view format_name(ContentFormat format) {
  switch (format) {
    case ContentFormat::raw: return "raw";
    case ContentFormat::iso: return "iso";
    case ContentFormat::qcow2: return "qcow2";
    case ContentFormat::vmdk: return "vmdk";
    case ContentFormat::vpc: return "vpc";
    case ContentFormat::vhdx: return "vhdx";
    case ContentFormat::xz: return "xz";
    case ContentFormat::gzip: return "gzip";
    case ContentFormat::zstd: return "zstd";
    case ContentFormat::refused: return "refused";
  }
  return "unknown";
}

bool is_compression(ContentFormat format) {
  return format == ContentFormat::xz || format == ContentFormat::gzip || format == ContentFormat::zstd;
}

bool needs_conversion(ContentFormat format) {
  return format == ContentFormat::qcow2 || format == ContentFormat::vmdk || format == ContentFormat::vpc ||
         format == ContentFormat::vhdx;
}

}  // namespace scsipub::ingest
