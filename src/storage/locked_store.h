#pragma once
// A BlockStore shared by several sessions on different threads. Reads and
// lba_status only look at the overlay's maps and pread, so they run in
// parallel under a shared lock; write, unmap and flush change the maps (and
// flush orders data before maps), so they run one at a time and exclude
// readers. Free-tier stores belong to one session and skip this; only
// provisioned disks pay for the lock, and a reader waits only for a writer.
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "storage/block_store.h"

namespace scsipub::storage {

class LockedStore final : public BlockStore {
 public:
  explicit LockedStore(std::shared_ptr<BlockStore> inner) : inner_(std::move(inner)) {}

  uint64_t block_count() const override { return inner_->block_count(); }  // immutable
  bool read_only() const override { return inner_->read_only(); }
  bool thin_provisioned() const override { return inner_->thin_provisioned(); }

  // The inner store's read must not change its state (CowOverlay's does not).
  IoStatus read(uint64_t lba, std::span<uint8_t> out) override {
    std::shared_lock lock(mu_);
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
  // Runs `fn(inner)` under the shared lock, for statistics the inner store
  // keeps; `fn` must only read.
  template <class Fn>
  auto with_inner(Fn&& fn) const {
    std::shared_lock lock(mu_);
    return fn(*inner_);
  }
  LbaRun lba_status(uint64_t lba) const override {
    std::shared_lock lock(mu_);
    return inner_->lba_status(lba);
  }
  // read_may_block / write_may_block keep the default (true): another
  // session's storage thread may hold the lock, so every command of a shared
  // disk runs off the event loop, even on a memory file system. A read that
  // finds the lock free and its data cached may still be served at once.
  bool read_now(uint64_t lba, std::span<uint8_t> out) override {
    std::shared_lock lock(mu_, std::try_to_lock);
    return lock.owns_lock() && inner_->read_now(lba, out);
  }

 private:
  std::shared_ptr<BlockStore> inner_;
  mutable std::shared_mutex mu_;
};

}  // namespace scsipub::storage
