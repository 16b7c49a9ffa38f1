#pragma once
// Runs the disk storage's orphan sweep (DiskStorage::sweep_orphans) once at
// start and then every interval, on a thread of its own: a sweep lists the
// pool and waits on the cluster and the database, so it never runs on an
// event loop or on the fleet keeper's thread (whose lease renewals must not
// wait behind it). Every node of a fleet may run one: a sweep removes only
// storage that has no record, is older than the grace period and that no
// client has open, and librbd itself refuses to remove an image with a watch.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "control/disk_storage.h"
#include "db/meta_store.h"

namespace scsipub::control {

struct StorageSweepSettings {
  std::chrono::seconds interval{600};  // 0: never (not even at start)
  std::chrono::seconds grace{900};     // storage younger than this is never removed
};

class StorageSweeper {
 public:
  // `storage` and `store` outlive the sweeper.
  StorageSweeper(DiskStorage& storage, db::MetaStore& store, StorageSweepSettings settings)
      : storage_(storage), store_(store), settings_(settings) {}
  ~StorageSweeper() { stop(); }
  StorageSweeper(const StorageSweeper&) = delete;
  StorageSweeper& operator=(const StorageSweeper&) = delete;

  // Starts the thread (no-op when the interval is 0); the first sweep runs at once.
  void start();
  // Waits for a sweep under way to end; idempotent.
  void stop();
  // One sweep on the calling thread (what the thread runs each round).
  Result<OrphanSweep> sweep_once();
  // Storage removed by this sweeper since it was made (/metrics).
  uint64_t removed_total() const { return removed_.load(); }
  uint64_t sweeps_total() const { return sweeps_.load(); }

 private:
  void run();

  DiskStorage& storage_;
  db::MetaStore& store_;
  const StorageSweepSettings settings_;
  std::atomic<uint64_t> removed_{0};
  std::atomic<uint64_t> sweeps_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace scsipub::control
