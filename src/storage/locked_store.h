#pragma once
// A BlockStore shared by several sessions on different threads. Reads and
// lba_status only look at the overlay's maps and pread, so they run in
// parallel under a shared lock; write, unmap and flush change the maps (and
// flush orders data before maps), so they run one at a time and exclude
// readers. Free-tier stores belong to one session and skip this; only
// provisioned disks pay for the lock, and a reader waits only for a writer.
#include <condition_variable>
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
    WriterPass pass(*this);
    std::lock_guard lock(mu_);
    return inner_->write(lba, in);
  }
  IoStatus unmap(uint64_t lba, uint64_t blocks) override {
    WriterPass pass(*this);
    std::lock_guard lock(mu_);
    return inner_->unmap(lba, blocks);
  }
  IoStatus flush() override {
    WriterPass pass(*this);
    std::lock_guard lock(mu_);
    return inner_->flush();
  }

  // A consistent copy of a live store (backups): stops new writers and waits
  // for those under way, flushes (data, then maps), and runs `fn(flush
  // status)` with writes still held back but reads going on -- so the files
  // do not change while `fn` copies them. Writers wait (on their storage
  // thread, never an event loop) until `fn` returns. One pause at a time
  // per store; a second waits for the first.
  template <class Fn>
  auto with_writes_paused(Fn&& fn) {
    std::unique_lock gate(gate_mu_);
    gate_cv_.wait(gate, [this] { return !paused_; });
    paused_ = true;
    gate_cv_.wait(gate, [this] { return writers_ == 0; });
    gate.unlock();
    struct Resume {
      LockedStore& s;
      ~Resume() {
        std::lock_guard g(s.gate_mu_);
        s.paused_ = false;
        s.gate_cv_.notify_all();
      }
    } resume{*this};
    IoStatus flushed = IoStatus::ok;
    {
      std::lock_guard lock(mu_);
      flushed = inner_->flush();
    }
    // No writer can get past the gate now; shared: reads go on.
    std::shared_lock lock(mu_);
    return fn(flushed);
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
  // Held by a writer from before it takes mu_ until it is done: a pause
  // waits for the writers under way and holds new ones back. Writers pay one
  // uncontended mutex round trip more; readers pay nothing.
  class WriterPass {
   public:
    explicit WriterPass(LockedStore& s) : s_(s) {
      std::unique_lock g(s_.gate_mu_);
      s_.gate_cv_.wait(g, [this] { return !s_.paused_; });
      ++s_.writers_;
    }
    ~WriterPass() {
      std::lock_guard g(s_.gate_mu_);
      if (--s_.writers_ == 0 && s_.paused_) s_.gate_cv_.notify_all();
    }
    WriterPass(const WriterPass&) = delete;
    WriterPass& operator=(const WriterPass&) = delete;

   private:
    LockedStore& s_;
  };

  std::shared_ptr<BlockStore> inner_;
  mutable std::shared_mutex mu_;
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  bool paused_ = false;   // guarded by gate_mu_
  uint32_t writers_ = 0;  // guarded by gate_mu_
};

}  // namespace scsipub::storage
