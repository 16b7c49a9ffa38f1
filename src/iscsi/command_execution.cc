// When and where the engine executes commands: one batch at a time on the
// connection's thread or the executor, and the asynchronous verbs of stores
// that have them. Part of CommandEngine (command_engine.h).
#include <algorithm>

#include "iscsi/command_engine.h"
#include "iscsi/command_task.h"
#include "lu/logical_unit.h"
#include "scsi/lun_address.h"

namespace scsipub::iscsi {

// One submission at a time, carrying every task that is ready: the session's
// commands execute in arrival order and never two at once, and a deep queue
// costs one hand-off to the executor, not one per command.
//
// Commands the SCSI layer calls memory work (reads of blocks the store serves
// from memory, INQUIRY, ...) skip the hand-off, and reads are tried here
// without waiting (their data is usually in the page cache): a batch whose
// first command is one of those runs at once on this thread and ends before
// the first command that may block; that one starts the next batch, on the
// executor, with whatever follows it. A read whose data was not at hand ends
// the batch too and goes to the executor with everything behind it
// (run_batch). Order is kept, a slow store never holds this thread, and a
// session whose commands are memory or cache work pays no thread wake-ups.
//
// Backpressure, as when commands ran on the loop: read data waits in the
// outbox until the transport has written it, so a batch carries at most
// kMaxUnsentReadBytes of reads (and at least one command), and no batch starts
// while that much is still unsent. A peer that stops reading holds one batch's
// data, not a CmdSN window of it.
void CommandEngine::pump_execution() {
  if (running_) return;
  if (cancelled_.load(std::memory_order_relaxed)) {
    ready_.clear();  // the connection is going away; abort_all frees them
    return;
  }
  if (unsent_read_bytes_ >= kMaxUnsentReadBytes) return;  // release_sent() pumps again
  if (deferred_read_bytes_ >= kMaxDeferredReadBytes) return;  // on_deferred_done() pumps again
  batch_.clear();
  std::vector<uint32_t> ready;
  ready.swap(ready_);
  uint64_t batch_read_bytes = 0;
  bool on_this_thread = false;  // decided by the batch's first command
  for (size_t i = 0; i < ready.size(); ++i) {
    const uint32_t itt = ready[i];
    auto it = tasks_.find(itt);
    if (it == tasks_.end() || it->second->stage != Task::Stage::queued) continue;
    Task& t = *it->second;
    if (drop_if_aborted(t)) continue;  // another nexus's PREEMPT AND ABORT while it waited
    const uint64_t read_bytes = t.read ? t.edtl : 0;
    const scsi::Wait wait = waits(t);
    const bool blocks = wait == scsi::Wait::may;
    if (batch_.empty()) on_this_thread = !blocks;
    const bool over_budget = batch_read_bytes + read_bytes > kMaxUnsentReadBytes ||
                             deferred_read_bytes_ + batch_read_bytes + read_bytes > kMaxDeferredReadBytes;
    if (!batch_.empty() && (over_budget || (on_this_thread && blocks))) {
      ready_.assign(ready.begin() + static_cast<std::ptrdiff_t>(i), ready.end());  // the next batch's, in order
      break;
    }
    batch_read_bytes += read_bytes;
    t.st.no_wait = on_this_thread && wait == scsi::Wait::unless_cached;
    t.st.defer_io = wait == scsi::Wait::deferred;
    t.stage = Task::Stage::running;
    t.din = acquire_buffer();  // the pool belongs to this thread: take buffers here
    t.din->clear();
    batch_.push_back(&t);
  }
  ready.clear();
  if (ready_.empty()) ready_.swap(ready);  // keep the capacity
  if (batch_.empty()) {
    pump_backlog();
    return;
  }
  running_ = true;
  TaskExecutor& executor = on_this_thread ? inline_ : *executor_;
  // With the inline executor both run before submit returns; nothing here
  // may touch the batch after it.
  executor.submit([this] { run_batch(); }, [this] { on_batch_done(); });
}

scsi::Wait CommandEngine::waits(Task& t) {
  if (executor_ == &inline_ || luns_ == nullptr) return scsi::Wait::never;  // runs here whatever it does
  if (t.must_wait) return scsi::Wait::may;  // tried here once: its data was not at hand
  t.st.cdb = std::span<const uint8_t>(t.cdb.data(), t.cdb_len);
  t.st.lun = scsi::decode_lun(t.lun_raw);
  return commands_.waits(t.st, *luns_);
}

// A read tried without waiting whose data was not at hand ends a batch on
// this thread: it and every command behind it go back to the queue, in
// order, and it starts the next batch on the executor.
void CommandEngine::run_batch() {
  bool requeue = false;
  for (Task* t : batch_) {
    if (cancelled_.load(std::memory_order_relaxed) || t->aborted.load(std::memory_order_relaxed)) continue;
    if (!requeue) {
      execute(*t);
      requeue = t->st.would_block;
      t->must_wait = requeue;
    }
    t->ran = !requeue;
    t->requeue = requeue;
  }
}

void CommandEngine::on_batch_done() {
  running_ = false;
  std::vector<Task*> done;
  done.swap(batch_);
  std::vector<uint32_t> requeued;
  std::vector<Task*> deferred;
  for (Task* t : done) {
    if (t->requeue && !t->aborted.load(std::memory_order_relaxed)) {
      t->requeue = false;
      t->stage = Task::Stage::queued;
      recycle(std::move(t->din));
      requeued.push_back(t->itt);
      continue;
    }
    if (t->aborted.load(std::memory_order_relaxed)) {
      release_orphan(*t);
      continue;
    }
    if (t->ran && t->st.deferred.kind != scsi::ScsiTask::DeferredIo::Kind::none) {
      deferred.push_back(t);  // still running: its verb starts below
      continue;
    }
    uint32_t itt = t->itt;
    t->stage = Task::Stage::done;
    if (t->ran) {
      // RFC 7143 4.2.2.1, as in complete_if_ready: this slot is free in the status.
      seq_.window_used = static_cast<uint32_t>(tasks_.size() - 1);
      finish(*t);
    }
    erase_task(itt);
  }
  batch_.swap(done);  // keep the capacity
  batch_.clear();
  if (!requeued.empty()) ready_.insert(ready_.begin(), requeued.begin(), requeued.end());
  for (Task* t : deferred) start_deferred(*t);
  pump_backlog();
  pump_execution();
}

// On the connection's thread, in arrival order. The store's completion may
// come on any thread, or before the verb returns: the resumer brings it back
// here through the executor either way.
void CommandEngine::start_deferred(Task& t) {
  const scsi::ScsiTask::DeferredIo io = t.st.deferred;
  storage::BlockStore& store = luns_->find(t.st.lun)->store();
  ++deferred_in_flight_;
  if (io.kind == scsi::ScsiTask::DeferredIo::Kind::read) {
    t.deferred_read_bytes = io.read_into.size();
    deferred_read_bytes_ += t.deferred_read_bytes;
  }
  auto resume = executor_->resumer([this, &t] { on_deferred_done(t); });
  auto done = [&t, resume = std::move(resume)](storage::IoStatus status) {
    t.io_status = status;
    resume();
  };
  if (io.kind == scsi::ScsiTask::DeferredIo::Kind::read) {
    store.read_async(io.lba, io.read_into, std::move(done));
  } else {
    store.write_async(io.lba, io.write_from, io.flush_after, std::move(done));
  }
}

// As on_batch_done for one task: status (and data) out, unless it was
// aborted meanwhile (SAM-5 5.6, TAS=0: no status).
void CommandEngine::on_deferred_done(Task& t) {
  --deferred_in_flight_;
  deferred_read_bytes_ -= t.deferred_read_bytes;
  t.deferred_read_bytes = 0;
  commands_.complete_deferred(t.st, *luns_, t.io_status);
  if (t.aborted.load(std::memory_order_relaxed)) {
    release_orphan(t);
  } else {
    const uint32_t itt = t.itt;
    t.stage = Task::Stage::done;
    seq_.window_used = static_cast<uint32_t>(tasks_.size() - 1);
    finish(t);
    erase_task(itt);
  }
  pump_backlog();
  pump_execution();
}

// The SCSI layer's part; on the executor's thread for a pool executor.
void CommandEngine::execute(Task& t) {
  scsi::ScsiTask& st = t.st;
  st.cdb = std::span<const uint8_t>(t.cdb.data(), t.cdb_len);
  st.lun = scsi::decode_lun(t.lun_raw);
  st.nexus = nexus_;
  st.expected_length = t.edtl;
  st.read_flag = t.read;
  st.write_flag = t.write;
  if (t.write && t.data) st.data_out = std::span<const uint8_t>(t.data->data(), t.edtl);
  st.data_in = t.din.get();
  commands_.execute(st, *luns_);
}

}  // namespace scsipub::iscsi
