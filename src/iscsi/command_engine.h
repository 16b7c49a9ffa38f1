#pragma once
// Full Feature Phase SCSI data movement (RFC 7143 sections 4.2.x, 11.2-11.8):
// SCSI Command with immediate and unsolicited data, R2T/Data-Out for solicited
// data, execution through the SCSI layer, Data-In split to the initiator's
// MaxRecvDataSegmentLength and MaxBurstLength, SCSI Response with residuals.
// Pure: fed PDUs, writes PDUs to an Outbox. A command's SCSI execution (its
// storage I/O) runs on an injected TaskExecutor, one submission at a time, so
// one session's commands execute in order and never two at once (a free-tier
// overlay is not thread-safe); the PDUs go out when the executor reports back.
// READ and WRITE of a store with asynchronous verbs (Ceph RBD) are checked
// here in order, then their verbs run concurrently and end as they complete.
// Commands that are memory work (reads of blocks never written, a store on
// tmpfs) run on the caller's thread instead, still one batch at a time.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/buffer.h"
#include "common/lazy_fifo.h"
#include "iscsi/outbox.h"
#include "iscsi/pdu.h"
#include "iscsi/sequence_state.h"
#include "iscsi/task_executor.h"
#include "iscsi/session_params.h"
#include "iscsi/session_stats.h"
#include "lu/nexus.h"
#include "scsi/command_set.h"

namespace scsipub::iscsi {

struct EngineLimits {
  uint32_t max_task_bytes = 16u << 20;     // largest EDTL we buffer for one write
  uint64_t max_buffered_bytes = 64u << 20; // write data buffered across all tasks
  // Outstanding tasks an immediate command may join (non-immediate ones are
  // bounded by the CmdSN window); 0 = the window.
  size_t max_tasks = 0;
  size_t max_pool_buffers = 64;            // idle buffers kept for reuse
  size_t keep_buffer_bytes = 1u << 20;     // idle buffers above this are freed
};

// Why the engine wants the connection dropped (protocol errors at ERL 0).
enum class EngineFault : uint8_t { none, protocol_error };

class CommandEngine {
 public:
  CommandEngine(Outbox& out, SequenceState& seq, EngineLimits limits);
  ~CommandEngine();

  void start(const SessionParams& params, const scsi::LunMap* luns, const lu::Nexus* nexus);
  // Where executed commands and their bytes are counted (may stay null).
  void set_counters(SessionCounters* counters) { counters_ = counters; }
  // Where commands execute; null: on the caller's thread, before on_command
  // or on_data_out returns. With an executor, commands that become ready wait
  // for start_ready() (the transport calls it once it has handled everything
  // it read), so a burst of commands costs one hand-off, not one each.
  void set_executor(TaskExecutor* executor) {
    executor_ = executor != nullptr ? executor : &inline_;
    hold_until_start_ = executor != nullptr;
  }
  void start_ready() { pump_execution(); }
  // A submission or an asynchronous storage verb is outstanding: the engine,
  // the LunMap and the Nexus must stay alive until the executor has called
  // every one of them back.
  bool executing() const { return running_ || deferred_in_flight_ != 0; }
  // The connection is going away: commands of the outstanding submission that
  // have not started yet are skipped (one already running completes).
  void cancel_execution() { cancelled_.store(true, std::memory_order_relaxed); }

  // A SCSI Command whose CmdSN has been accepted.
  void on_command(const PduView& pdu);
  // Whether an immediate command carrying `data_bytes` of immediate data fits
  // the task and buffer limits. Immediate commands skip the CmdSN window, so
  // this is their only bound (RFC 7143 3.2.2.1 lets a target reject them).
  bool admits_immediate(size_t data_bytes) const;
  void on_data_out(const PduView& pdu);

  // Task management (RFC 7143 11.5). Returns true when the task existed.
  bool abort_task(uint32_t itt);
  // Drops every task (optionally only those for `lun`); returns how many.
  size_t abort_all(std::optional<uint64_t> lun);

  // Called after the transport wrote the outbox: payload buffers become free.
  void release_sent();
  // Frees the pooled buffers and the task table's buckets when no task and no
  // queued Data-In needs them, so an idle session keeps none of what its last
  // burst of commands grew. Called by the connection once it has been quiet
  // for a while; the next command allocates afresh.
  void trim_idle();
  // Idle buffers kept for reuse (what trim_idle frees).
  size_t pooled_buffers() const { return pool_.size(); }
  EngineFault fault() const { return fault_; }
  uint64_t buffered_bytes() const { return buffered_bytes_; }
  // The most write data this connection ever held at once.
  uint64_t peak_buffered_bytes() const { return peak_buffered_bytes_; }

 private:
  struct R2tState {
    uint32_t ttt;
    uint32_t offset;
    uint32_t length;
    uint32_t received;
    uint32_t next_data_sn;
  };
  struct Task;

  std::unique_ptr<Buffer> acquire_buffer();
  void recycle(std::unique_ptr<Buffer> b);
  bool take_budget(Task& task);
  void charge(Task& task, uint64_t bytes);
  void pump_r2t(Task& task);
  void pump_backlog();
  void complete_if_ready(uint32_t itt);
  void queue_execution(Task& task);
  void pump_execution();
  // Whether the task's execution may wait (see pump_execution).
  scsi::Wait waits(Task& task);
  void run_batch();        // on the executor's thread
  void on_batch_done();    // back on the connection's thread
  // Commands whose storage verb the store runs asynchronously (Wait::deferred).
  void start_deferred(Task& task);
  void on_deferred_done(Task& task);  // on the connection's thread
  void execute(Task& task);
  void finish(Task& task);
  void release_task(std::unique_ptr<Task> task);
  void release_orphan(Task& task);
  uint32_t send_data_in(const Task& task, const scsi::ScsiTask& st, uint32_t length, bool with_status);
  void send_response(const Task& task, const scsi::ScsiTask& st, uint32_t exp_data_sn);
  bool drop_if_aborted(Task& task);
  void erase_task(uint32_t itt);
  void protocol_error();

  Outbox& out_;
  SequenceState& seq_;
  // Stateless: the iSCSI layer owns its SCSI command set (net never sees it).
  scsi::CommandSet commands_;
  EngineLimits limits_;
  SessionParams params_;
  const scsi::LunMap* luns_ = nullptr;
  const lu::Nexus* nexus_ = nullptr;
  SessionCounters* counters_ = nullptr;

  std::unordered_map<uint32_t, std::unique_ptr<Task>> tasks_;
  LazyFifo<uint32_t> r2t_backlog_;  // write tasks waiting for buffer budget (empty when idle)
  uint64_t buffered_bytes_ = 0;       // sum of every task's `charged`
  uint64_t peak_buffered_bytes_ = 0;
  uint32_t next_ttt_ = 1;
  std::vector<std::unique_ptr<Buffer>> pool_;       // idle, capacity kept
  std::vector<std::unique_ptr<Buffer>> in_flight_;  // referenced by queued Data-In PDUs

  InlineExecutor inline_;
  TaskExecutor* executor_ = &inline_;
  // Received in full, waiting for the executor, in order; always drained
  // whole (a vector: an idle session's deque would cost half a KiB).
  std::vector<uint32_t> ready_;
  std::vector<Task*> batch_;         // the outstanding submission (owned by tasks_ or orphans_)
  std::vector<std::unique_ptr<Task>> orphans_;  // aborted while running: no status, freed when done
  bool running_ = false;
  // Read data a batch may produce, and that may wait unsent before the next
  // batch starts (pump_execution): what a peer that stops reading can hold.
  static constexpr uint64_t kMaxUnsentReadBytes = 1u << 20;
  uint64_t unsent_read_bytes_ = 0;  // Data-In payload in in_flight_
  // Asynchronous verbs started and not yet back, and the read data they will
  // bring: bounded like unsent data, so a deep queue of large reads holds a
  // few MiB, not a CmdSN window of them.
  static constexpr uint64_t kMaxDeferredReadBytes = 2u << 20;
  size_t deferred_in_flight_ = 0;
  uint64_t deferred_read_bytes_ = 0;
  bool hold_until_start_ = false;
  std::atomic<bool> cancelled_{false};
  EngineFault fault_ = EngineFault::none;
};

}  // namespace scsipub::iscsi
