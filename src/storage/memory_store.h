#pragma once
// A BlockStore in memory: for tests, fuzzing and benchmarks of the layers above.
#include <vector>

#include "storage/block_store.h"

namespace scsipub::storage {

class MemoryStore final : public BlockStore {
 public:
  explicit MemoryStore(uint64_t blocks, bool read_only = false);

  uint64_t block_count() const override { return blocks_; }
  bool read_only() const override { return read_only_; }
  bool thin_provisioned() const override { return true; }
  IoStatus read(uint64_t lba, std::span<uint8_t> out) override;
  IoStatus write(uint64_t lba, std::span<const uint8_t> in) override;
  IoStatus unmap(uint64_t lba, uint64_t blocks) override;
  IoStatus flush() override { return IoStatus::ok; }
  LbaRun lba_status(uint64_t lba) const override;
  bool read_may_block(uint64_t, uint64_t) const override { return false; }
  bool write_may_block(uint64_t, uint64_t) const override { return false; }

 private:
  bool in_range(uint64_t lba, uint64_t blocks) const;

  uint64_t blocks_;
  bool read_only_;
  std::vector<uint8_t> data_;
  std::vector<bool> mapped_;
};

}  // namespace scsipub::storage
