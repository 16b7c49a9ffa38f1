#pragma once
// What a soak expects to read back, byte for byte. Every 4 KiB block it
// writes carries, in each 512-byte sector, a tag saying who wrote it (session
// slot, generation of that slot's identity, write version) and where (LBA),
// so a read that returns another session's data, a stale version or a
// misplaced sector is caught. Sectors nobody wrote read as the disk's base:
// zeros on a blank scratch disk, the sector's own LBA on the pattern image.
#include <cstdint>
#include <span>

namespace scsipub::bench {

inline constexpr uint32_t kSectorBytes = 512;
inline constexpr uint32_t kBlockSectors = 8;
inline constexpr uint32_t kBlockBytes = kSectorBytes * kBlockSectors;  // one soak I/O

enum class BaseContent : uint8_t {
  zeros,        // a blank scratch disk
  lba_pattern,  // each sector is its LBA as 64 little-endian uint64 (tests/integration/soak.sh makes it)
};

struct BlockTag {
  uint32_t slot = 0;
  uint32_t generation = 0;
  uint32_t version = 0;
};

// `block` is kBlockBytes long and starts at sector `first_lba`.
void fill_base(BaseContent base, uint64_t first_lba, std::span<uint8_t> block);
void fill_tagged(const BlockTag& tag, uint64_t first_lba, std::span<uint8_t> block);

}  // namespace scsipub::bench
