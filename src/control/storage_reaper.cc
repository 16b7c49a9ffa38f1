#include "control/storage_reaper.h"

namespace scsipub::control {

StorageReaper::StorageReaper() : thread_([this] { run(); }) {}

StorageReaper::~StorageReaper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void StorageReaper::post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
}

void StorageReaper::drain() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return jobs_.empty() && running_ == 0; });
}

void StorageReaper::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, and everything handed over has run
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    lock.unlock();
    job();
    job = nullptr;  // what the job holds goes here, not under the lock
    lock.lock();
    --running_;
    cv_.notify_all();
  }
}

}  // namespace scsipub::control
