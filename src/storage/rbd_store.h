#pragma once
// A BlockStore over one RBD image, opened with its exclusive lock held: while
// this process holds the lock no other client can write the image (librbd in
// another client asks for the lock and is refused), and a client that takes
// the lock over from a dead owner blocklists it first, so a stale owner's
// writes can never land after the handover.
//
// librbd is thread-safe: the store is shared by every session of a disk
// without a lock of ours, and reads and writes of several sessions run in
// parallel. READ and WRITE go through librbd's asynchronous API (many in
// flight per session, completions handed back to the session's loop); the
// other verbs may wait on the network, so they run on a storage thread
// (read_may_block / write_may_block stay true).
#include <rbd/librbd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/block_store.h"
#include "storage/rbd_allocation.h"
#include "storage/rbd_cluster.h"

namespace scsipub::storage {

struct RbdOpenOptions {
  // When the lock is held by another client: break it (which blocklists that
  // client) and take it. Only for a caller that knows it is the image's
  // rightful owner now (a lease, or a single node that owns every image).
  // Never breaks a lock held by this very client.
  bool take_over = false;
  // Bytes the image may hold of its own (RbdAllocation); 0 = unlimited.
  uint64_t write_limit = 0;
};

class RbdStore final : public BlockStore {
 public:
  static Result<std::unique_ptr<RbdStore>> open(std::shared_ptr<RbdCluster> cluster, const std::string& name,
                                                RbdOpenOptions options = {});
  ~RbdStore() override;  // releases the lock (flushes first)
  RbdStore(const RbdStore&) = delete;
  RbdStore& operator=(const RbdStore&) = delete;

  uint64_t block_count() const override { return blocks_; }
  bool read_only() const override { return false; }
  bool thin_provisioned() const override { return true; }
  IoStatus read(uint64_t lba, std::span<uint8_t> out) override;
  IoStatus write(uint64_t lba, std::span<const uint8_t> in) override;
  IoStatus unmap(uint64_t lba, uint64_t blocks) override;
  IoStatus flush() override;
  // librbd's asynchronous API: the verb is queued to the cluster and returns;
  // `done` runs on a librbd callback thread (or here, when queueing failed).
  bool async_io() const override { return true; }
  void read_async(uint64_t lba, std::span<uint8_t> out, IoDone done) override;
  void write_async(uint64_t lba, std::span<const uint8_t> in, bool flush_after, IoDone done) override;
  // "Mapped or unknown" for the rest of the image (SBC-4 5.8: provisioning
  // status 0h): asking the cluster per LBA would cost a round trip per call.
  LbaRun lba_status(uint64_t lba) const override;

  const std::string& name() const { return name_; }
  // Whether this client still holds the exclusive lock (false once another
  // client broke it and blocklisted this one).
  bool holds_lock() const;
  // Allocated bytes and write_limit bookkeeping (measured at open).
  const RbdAllocation& allocation() const { return *allocation_; }

  // Backups (storage/rbd_backup.h). A snapshot of the image as of now, made
  // through this handle, which holds the exclusive lock, while sessions keep
  // using the store: librbd blocks new writes, waits for the ones in flight
  // and creates the snapshot, so it holds every write acknowledged before the
  // call and none started after it returns; a write racing the call lands on
  // one side whole. Nothing needs pausing around it. Returns how long the
  // call held writes back (flush + snapshot create). Only names
  // rbd_backup_snapshot_name() makes are accepted, here and in removal.
  // May wait on the cluster: a control or storage thread.
  Result<std::chrono::microseconds> create_snapshot(const std::string& snap);
  Status remove_snapshot(const std::string& snap);
  // Every snapshot of the image, by name (the backup ones and any other).
  Result<std::vector<std::string>> snapshots() const;

 private:
  RbdStore(std::shared_ptr<RbdCluster> cluster, rbd_image_t image, std::string name, uint64_t blocks,
           std::unique_ptr<RbdAllocation> allocation)
      : cluster_(std::move(cluster)),
        image_(image),
        name_(std::move(name)),
        blocks_(blocks),
        allocation_(std::move(allocation)) {}
  bool in_range(uint64_t lba, uint64_t blocks) const { return lba <= blocks_ && blocks <= blocks_ - lba; }

  std::shared_ptr<RbdCluster> cluster_;  // outlives the image handle
  rbd_image_t image_;
  std::string name_;
  uint64_t blocks_;
  std::unique_ptr<RbdAllocation> allocation_;  // never null
};

}  // namespace scsipub::storage
