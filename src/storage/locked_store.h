#pragma once
// A BlockStore shared by several sessions on different event loops: every
// verb runs under one mutex, because the overlay below keeps in-memory maps
// that are not thread-safe. Free-tier stores belong to one loop and skip
// this; only provisioned disks pay for the lock, and only when two sessions
// really run I/O at once.
#include <memory>
#include <mutex>

#include "storage/block_store.h"

namespace scsipub::storage {

class LockedStore final : public BlockStore {
 public:
  explicit LockedStore(std::shared_ptr<BlockStore> inner) : inner_(std::move(inner)) {}

  uint64_t block_count() const override { return inner_->block_count(); }  // immutable
  bool read_only() const override { return inner_->read_only(); }
  bool thin_provisioned() const override { return inner_->thin_provisioned(); }

  IoStatus read(uint64_t lba, std::span<uint8_t> out) override {
    std::lock_guard lock(mu_);
    return inner_->read(lba, out);
  }
  IoStatus write(uint64_t lba, std::span<const uint8_t> in) override {
    std::lock_guard lock(mu_);
    return inner_->write(lba, in);
  }
  IoStatus unmap(uint64_t lba, uint64_t blocks) override {
    std::lock_guard lock(mu_);
    return inner_->unmap(lba, blocks);
  }
  IoStatus flush() override {
    std::lock_guard lock(mu_);
    return inner_->flush();
  }
  // Runs `fn(inner)` under the lock, for statistics the inner store keeps.
  template <class Fn>
  auto with_inner(Fn&& fn) const {
    std::lock_guard lock(mu_);
    return fn(*inner_);
  }
  LbaRun lba_status(uint64_t lba) const override {
    std::lock_guard lock(mu_);
    return inner_->lba_status(lba);
  }

 private:
  std::shared_ptr<BlockStore> inner_;
  mutable std::mutex mu_;
};

}  // namespace scsipub::storage
