#pragma once
// Where CommandEngine runs a command's SCSI execution (and so its storage
// I/O) when it may block. The transport supplies one that runs the work on a
// worker pool and calls `done` back on the connection's own loop, so a slow
// disk never stalls a loop; the default runs both at once on the caller's
// thread, which keeps the engine deterministic for tests that drive it
// directly. Commands the SCSI layer calls memory work (CommandSet::may_block)
// never come here: the engine runs them on its own thread.
#include <functional>

namespace scsipub::iscsi {

class TaskExecutor {
 public:
  virtual ~TaskExecutor() = default;
  // Runs `work` (maybe on another thread), then `done` on the thread that owns
  // the connection. The engine keeps at most one submission outstanding and
  // stays alive (with everything `work` touches) until `done` has run.
  virtual void submit(std::function<void()> work, std::function<void()> done) = 0;
  // The way back for work that completes on a thread of its own (a storage
  // verb started asynchronously): the returned function may be called once,
  // from any thread, and runs `on_loop` on the thread that owns the
  // connection; the connection stays alive until it has run.
  virtual std::function<void()> resumer(std::function<void()> on_loop) = 0;
};

class InlineExecutor final : public TaskExecutor {
 public:
  void submit(std::function<void()> work, std::function<void()> done) override {
    work();
    done();
  }
  std::function<void()> resumer(std::function<void()> on_loop) override { return on_loop; }
};

}  // namespace scsipub::iscsi
