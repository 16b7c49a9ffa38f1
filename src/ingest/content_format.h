#pragma once
// What a file is, judged by its bytes and never by its name: a hostile source
// may call a qcow2 "disk.img", and letting a converter probe the format is how
// a raw image that starts with a qcow2 header becomes a host-file read. The
// detected format is then passed to qemu-img explicitly (-f).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace scsipub::ingest {

enum class ContentFormat : uint8_t {
  raw,    // anything not recognised below: served as a disk as it is
  iso,    // ISO 9660 ("CD001" in the first volume descriptor, ECMA-119 8.1)
  qcow2,  // "QFI\xfb", version 2 or 3
  vmdk,   // VMDK sparse extent ("KDMV"), self-contained
  vpc,    // VHD ("conectix" footer; qemu's driver name is "vpc")
  vhdx,   // "vhdxfile" file type identifier (MS-VHDX 2.2.1)
  xz,
  gzip,
  zstd,
  refused,  // recognised, but never accepted (see SniffResult::reason)
};

struct SniffResult {
  ContentFormat format = ContentFormat::raw;
  std::string reason;  // why, when format == refused
};

// The bytes the sniffer needs: the first kSniffHeadBytes of the file (or all
// of it if shorter) and its last 512 bytes (the VHD footer).
inline constexpr size_t kSniffHeadBytes = 0x8000 + 2048;  // through the first ISO volume descriptor
inline constexpr size_t kSniffTailBytes = 512;

// Pure. `head` may be shorter than kSniffHeadBytes for small files; `tail`
// is empty when the file is shorter than 512 bytes.
SniffResult sniff_content(std::span<const uint8_t> head, std::span<const uint8_t> tail);

// "qcow2", "vmdk", ... as qemu-img's -f names them; "raw", "iso", "xz", ...
std::string_view format_name(ContentFormat format);
bool is_compression(ContentFormat format);
bool needs_conversion(ContentFormat format);  // qcow2, vmdk, vpc, vhdx

}  // namespace scsipub::ingest
