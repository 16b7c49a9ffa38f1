#pragma once
// A fixed set of threads that run jobs in the order they were posted. The
// iSCSI loops hand blocking storage work here (pread/pwrite/fdatasync on
// images that may sit on a slow or cold disk) so that one slow session never
// stalls the other connections of its loop. The pool holds no lock while a
// job runs. Its queue needs no bound of its own: each session keeps at most
// one job here at a time (CommandEngine), so the connection limit bounds it.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace scsipub {

class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads);
  // Runs every job already posted, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Any thread. After stop(), the job runs on the caller's thread instead.
  void post(std::function<void()> job);
  // Runs what is queued, joins the threads; idempotent.
  void stop();
  unsigned threads() const { return static_cast<unsigned>(threads_.size()); }

 private:
  void run();

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace scsipub
