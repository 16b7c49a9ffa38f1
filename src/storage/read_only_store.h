#pragma once
// Read-only LUNs (ISO / DVD images): writes and unmaps answer write_protected,
// everything else passes through.
#include <memory>

#include "storage/block_store.h"
#include "storage/image_source.h"

namespace scsipub::storage {

// Any BlockStore, made read-only.
class ReadOnlyStore final : public BlockStore {
 public:
  explicit ReadOnlyStore(std::shared_ptr<BlockStore> inner) : inner_(std::move(inner)) {}

  uint64_t block_count() const override { return inner_->block_count(); }
  bool read_only() const override { return true; }
  // Nothing can be deallocated through a read-only LU.
  bool thin_provisioned() const override { return false; }
  IoStatus read(uint64_t lba, std::span<uint8_t> out) override { return inner_->read(lba, out); }
  IoStatus write(uint64_t, std::span<const uint8_t>) override { return IoStatus::write_protected; }
  IoStatus unmap(uint64_t, uint64_t) override { return IoStatus::write_protected; }
  IoStatus flush() override { return IoStatus::ok; }
  LbaRun lba_status(uint64_t lba) const override { return inner_->lba_status(lba); }
  bool read_may_block(uint64_t lba, uint64_t blocks) const override { return inner_->read_may_block(lba, blocks); }
  bool write_may_block(uint64_t, uint64_t) const override { return false; }  // refused at once
  bool read_now(uint64_t lba, std::span<uint8_t> out) override { return inner_->read_now(lba, out); }

 private:
  std::shared_ptr<BlockStore> inner_;
};

// A base image served directly, with no overlay: the cheapest read-only LU.
// Safe to share between sessions on different threads (reads are pread).
class ImageStore final : public BlockStore {
 public:
  explicit ImageStore(std::shared_ptr<const ImageSource> image) : image_(std::move(image)) {}

  uint64_t block_count() const override { return image_->block_count(); }
  bool read_only() const override { return true; }
  bool thin_provisioned() const override { return false; }
  IoStatus read(uint64_t lba, std::span<uint8_t> out) override;
  IoStatus write(uint64_t, std::span<const uint8_t>) override { return IoStatus::write_protected; }
  IoStatus unmap(uint64_t, uint64_t) override { return IoStatus::write_protected; }
  IoStatus flush() override { return IoStatus::ok; }
  LbaRun lba_status(uint64_t lba) const override;
  bool read_may_block(uint64_t, uint64_t) const override { return !image_->in_memory(); }
  bool write_may_block(uint64_t, uint64_t) const override { return false; }  // refused at once

 private:
  std::shared_ptr<const ImageSource> image_;
};

}  // namespace scsipub::storage
