#pragma once
// A DVD-ROM logical unit reads 2048-byte logical blocks (MMC-6: DVD media
// have 2048-byte sectors) from a store of 512-byte blocks: DVD block N is
// store blocks 4N..4N+3. An image whose size is not a multiple of 2048 is
// rounded up; the missing tail reads as zeros.
#include <cstdint>

#include "scsi/block_limits.h"
#include "storage/block_store.h"

namespace scsipub::scsi {

inline constexpr uint32_t kDvdBlockSize = 2048;
inline constexpr uint32_t kStoreBlocksPerDvdBlock = kDvdBlockSize / storage::kBlockSize;
// The same byte cap per command as the disk (4 MiB).
inline constexpr uint32_t kMaxDvdTransferBlocks = limits::kMaxTransferBlocks / kStoreBlocksPerDvdBlock;

inline uint64_t dvd_block_count(const storage::BlockStore& store) {
  return (store.block_count() + kStoreBlocksPerDvdBlock - 1) / kStoreBlocksPerDvdBlock;
}

}  // namespace scsipub::scsi
