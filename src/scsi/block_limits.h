#pragma once
// What we advertise in the Block Limits VPD page (SBC-3 6.5.3) and enforce in
// the handlers. One place, so the page and the checks cannot drift apart.
#include <cstdint>

namespace scsipub::scsi::limits {

// Largest READ/WRITE/VERIFY transfer: also caps every data-in allocation.
inline constexpr uint32_t kMaxTransferBlocks = 8192;  // 4 MiB
inline constexpr uint16_t kOptimalTransferGranularity = 8;  // 4 KiB
inline constexpr uint32_t kOptimalTransferBlocks = 2048;    // 1 MiB
inline constexpr uint32_t kMaxUnmapLbaCount = 262144;       // 128 MiB per UNMAP command
inline constexpr uint32_t kMaxUnmapDescriptors = 256;
inline constexpr uint32_t kOptimalUnmapGranularity = 8;
inline constexpr uint64_t kMaxWriteSameBlocks = 32768;      // 16 MiB (below 65536: libiscsi WriteSame16Unmap then skips a 32 MiB WRITE)
inline constexpr uint8_t kMaxCompareAndWriteBlocks = 255;
// WRITE SAME with NUMBER OF LOGICAL BLOCKS 0 means "to the last LBA" (WSNZ = 0),
// allowed when that range is within kMaxWriteSameBlocks.
inline constexpr bool kWriteSameNonZero = false;

// Longest parameter list we parse (UNMAP: header + max descriptors).
inline constexpr uint32_t kMaxUnmapParameterList = 8 + 16 * kMaxUnmapDescriptors;

}  // namespace scsipub::scsi::limits
