#include "storage/read_only_store.h"

namespace scsipub::storage {

IoStatus ImageStore::read(uint64_t lba, std::span<uint8_t> out) {
  const uint64_t blocks = block_count();
  if (out.size() % kBlockSize != 0) return IoStatus::out_of_range;
  const uint64_t n = out.size() / kBlockSize;
  if (lba > blocks || n > blocks - lba) return IoStatus::out_of_range;
  return image_->read_at(lba * kBlockSize, out) == 0 ? IoStatus::ok : IoStatus::io_error;
}

LbaRun ImageStore::lba_status(uint64_t lba) const {
  const uint64_t blocks = block_count();
  if (lba >= blocks) return {true, 0};
  return {!image_->all_zeros(), blocks - lba};
}

}  // namespace scsipub::storage
