#pragma once
// A TaskExecutor the test drives by hand, as the server's storage pool and
// event loop would: submissions wait until complete(), and completions of
// asynchronous storage verbs wait until resume() (the loop's post).
#include <gtest/gtest.h>

#include <deque>
#include <functional>

#include "iscsi/task_executor.h"

namespace scsipub::iscsi::testing {

class ManualExecutor final : public TaskExecutor {
 public:
  void submit(std::function<void()> work, std::function<void()> done) override {
    pending_.push_back({std::move(work), std::move(done)});
  }
  std::function<void()> resumer(std::function<void()> on_loop) override {
    return [this, on_loop = std::move(on_loop)] { resumed_.push_back(on_loop); };
  }
  size_t pending() const { return pending_.size(); }
  size_t resumable() const { return resumed_.size(); }
  void complete() {
    ASSERT_FALSE(pending_.empty());
    Job job = std::move(pending_.front());
    pending_.pop_front();
    job.work();
    job.done();
  }
  // Runs every completion handed back so far, in the order they came.
  void resume() {
    while (!resumed_.empty()) {
      auto fn = std::move(resumed_.front());
      resumed_.pop_front();
      fn();
    }
  }

 private:
  struct Job {
    std::function<void()> work;
    std::function<void()> done;
  };
  std::deque<Job> pending_;
  std::deque<std::function<void()>> resumed_;
};

}  // namespace scsipub::iscsi::testing
