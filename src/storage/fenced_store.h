#pragma once
// A BlockStore that serves only while this node holds the disk's lease. A
// node of a fleet that cannot renew a lease in time must stop touching the
// disk before another node may take it over, or both would write the same
// data. The lease keeper moves the deadline forward at every renewal; the
// store checks it on every command against the monotonic clock, so serving
// stops at the deadline even if the keeper's thread is stuck on the database.
// Reads are refused too: a node without the lease must not serve data the new
// owner may already have changed.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>

#include "storage/block_store.h"

namespace scsipub::storage {

// Until when (steady clock) the lease of one disk is known to be held. Set
// by one writer (the lease keeper), read by every I/O thread without a lock.
class LeaseDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  void extend_to(Clock::time_point deadline) {
    ns_.store(deadline.time_since_epoch().count(), std::memory_order_release);
  }
  // Lost or given up: refused from now on, until extended again.
  void revoke() { ns_.store(kRevoked, std::memory_order_release); }
  bool valid_at(Clock::time_point now) const {
    return now.time_since_epoch().count() < ns_.load(std::memory_order_acquire);
  }
  bool valid() const { return valid_at(Clock::now()); }

 private:
  static constexpr int64_t kRevoked = std::numeric_limits<int64_t>::min();
  std::atomic<int64_t> ns_{kRevoked};
};

class FencedStore final : public BlockStore {
 public:
  FencedStore(std::shared_ptr<BlockStore> inner, std::shared_ptr<const LeaseDeadline> lease)
      : inner_(std::move(inner)), lease_(std::move(lease)) {}

  uint64_t block_count() const override { return inner_->block_count(); }
  bool read_only() const override { return inner_->read_only(); }
  bool thin_provisioned() const override { return inner_->thin_provisioned(); }

  // unavailable (NOT READY upstream), never io_error: a command refused in
  // the instant between the deadline and the end of the disk's sessions is
  // retried by the initiator, after its reconnect on the new owner, instead
  // of reaching the filesystem as a failed write.
  IoStatus read(uint64_t lba, std::span<uint8_t> out) override {
    if (!lease_->valid()) return IoStatus::unavailable;
    return inner_->read(lba, out);
  }
  IoStatus write(uint64_t lba, std::span<const uint8_t> in) override {
    if (!lease_->valid()) return IoStatus::unavailable;
    return inner_->write(lba, in);
  }
  IoStatus unmap(uint64_t lba, uint64_t blocks) override {
    if (!lease_->valid()) return IoStatus::unavailable;
    return inner_->unmap(lba, blocks);
  }
  IoStatus flush() override {
    if (!lease_->valid()) return IoStatus::unavailable;
    return inner_->flush();
  }
  LbaRun lba_status(uint64_t lba) const override { return inner_->lba_status(lba); }
  bool read_may_block(uint64_t lba, uint64_t blocks) const override {
    return inner_->read_may_block(lba, blocks);
  }
  bool write_may_block(uint64_t lba, uint64_t blocks) const override {
    return inner_->write_may_block(lba, blocks);
  }
  bool read_now(uint64_t lba, std::span<uint8_t> out) override {
    return lease_->valid() && inner_->read_now(lba, out);
  }

 private:
  std::shared_ptr<BlockStore> inner_;
  std::shared_ptr<const LeaseDeadline> lease_;
};

}  // namespace scsipub::storage
