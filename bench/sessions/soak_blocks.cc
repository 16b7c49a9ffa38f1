#include "sessions/soak_blocks.h"

#include <cstring>

namespace scsipub::bench {

namespace {

void put64(uint8_t* at, uint64_t v) {
  for (int k = 0; k < 8; ++k) at[k] = uint8_t(v >> (8 * k));
}

}  // namespace

void fill_base(BaseContent base, uint64_t first_lba, std::span<uint8_t> block) {
  if (base == BaseContent::zeros) {
    std::memset(block.data(), 0, block.size());
    return;
  }
  for (size_t at = 0; at + 8 <= block.size(); at += 8) put64(block.data() + at, first_lba + at / kSectorBytes);
}

void fill_tagged(const BlockTag& tag, uint64_t first_lba, std::span<uint8_t> block) {
  static constexpr char kMagic[8] = {'S', 'O', 'A', 'K', 'T', 'A', 'G', '1'};
  for (size_t sector = 0; sector * kSectorBytes < block.size(); ++sector) {
    uint8_t* s = block.data() + sector * kSectorBytes;
    const uint64_t lba = first_lba + sector;
    std::memcpy(s, kMagic, 8);
    put64(s + 8, tag.slot);
    put64(s + 16, lba);
    put64(s + 24, tag.generation);
    put64(s + 32, tag.version);
    // The rest depends on all of them, so a torn or shifted sector differs everywhere.
    uint64_t x = (uint64_t(tag.slot) << 40) ^ (lba << 8) ^ (uint64_t(tag.generation) << 24) ^ tag.version ^
                 0x9e3779b97f4a7c15ull;
    for (size_t at = 40; at < kSectorBytes; ++at) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      s[at] = uint8_t(x);
    }
  }
}

}  // namespace scsipub::bench
