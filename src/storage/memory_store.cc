#include "storage/memory_store.h"

#include <algorithm>
#include <cstring>

namespace scsipub::storage {

MemoryStore::MemoryStore(uint64_t blocks, bool read_only)
    : blocks_(blocks), read_only_(read_only), data_(blocks * kBlockSize), mapped_(blocks, false) {}

bool MemoryStore::in_range(uint64_t lba, uint64_t blocks) const {
  return lba <= blocks_ && blocks <= blocks_ - lba;
}

IoStatus MemoryStore::read(uint64_t lba, std::span<uint8_t> out) {
  if (!in_range(lba, out.size() / kBlockSize)) return IoStatus::out_of_range;
  std::memcpy(out.data(), data_.data() + lba * kBlockSize, out.size());
  return IoStatus::ok;
}

IoStatus MemoryStore::write(uint64_t lba, std::span<const uint8_t> in) {
  if (read_only_) return IoStatus::write_protected;
  uint64_t n = in.size() / kBlockSize;
  if (!in_range(lba, n)) return IoStatus::out_of_range;
  std::memcpy(data_.data() + lba * kBlockSize, in.data(), in.size());
  std::fill_n(mapped_.begin() + static_cast<ptrdiff_t>(lba), n, true);
  return IoStatus::ok;
}

IoStatus MemoryStore::unmap(uint64_t lba, uint64_t blocks) {
  if (read_only_) return IoStatus::write_protected;
  if (!in_range(lba, blocks)) return IoStatus::out_of_range;
  std::memset(data_.data() + lba * kBlockSize, 0, blocks * kBlockSize);
  std::fill_n(mapped_.begin() + static_cast<ptrdiff_t>(lba), blocks, false);
  return IoStatus::ok;
}

LbaRun MemoryStore::lba_status(uint64_t lba) const {
  if (lba >= blocks_) return {true, 0};
  bool state = mapped_[lba];
  uint64_t end = lba;
  while (end < blocks_ && mapped_[end] == state) ++end;
  return {state, end - lba};
}

}  // namespace scsipub::storage
