#pragma once
// Closes and removes the storage of deleted disks on a thread of its own.
// The last holder of a deleted disk lets go of it wherever it happens to run:
// the fleet keeper's thread (a disk deleted through another node, dropped at
// a records read) or an event loop (the last session of a deleted disk
// ending). Closing an RBD image and removing it waits on the cluster, for as
// long as the image has objects to delete: neither an event loop nor the
// keeper, whose lease renewals are due every heartbeat, may wait on that.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace scsipub::control {

class StorageReaper {
 public:
  StorageReaper();
  // Runs every job already handed over, then stops.
  ~StorageReaper();
  StorageReaper(const StorageReaper&) = delete;
  StorageReaper& operator=(const StorageReaper&) = delete;

  // Runs `job` on the reaper's thread, in the order handed over.
  void post(std::function<void()> job);
  // Waits until every job handed over so far has run (tests, shutdown).
  void drain();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  size_t running_ = 0;                      // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::thread thread_;                      // last: starts once the rest is built
};

}  // namespace scsipub::control
