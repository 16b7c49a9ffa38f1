#pragma once
// The engine's record of one SCSI command, private to command_engine*.cc.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "iscsi/command_engine.h"

namespace scsipub::iscsi {

inline constexpr size_t kMaxCdb = ScsiCommandHeader::kCdbBytes + 256;  // BHS CDB + extended-CDB AHS

struct CommandEngine::Task {
  uint32_t itt = 0;
  uint64_t lun_raw = 0;
  std::array<uint8_t, kMaxCdb> cdb{};
  uint16_t cdb_len = 0;
  uint32_t edtl = 0;
  bool read = false;
  bool write = false;
  std::unique_ptr<Buffer> data;  // write data
  uint32_t received = 0;         // bytes placed in `data`
  uint32_t unsolicited_end = 0;  // immediate + unsolicited data end here
  uint32_t unsolicited_next = 0; // next unsolicited offset expected
  uint32_t unsolicited_data_sn = 0;
  uint32_t next_r2t_offset = 0;
  uint32_t r2t_sn = 0;
  std::vector<R2tState> r2ts;
  // Bytes counted against max_buffered_bytes: what has arrived while the
  // task had no budget, then all of EDTL once it has.
  uint64_t charged = 0;
  bool budget_held = false;
  bool in_backlog = false;
  // Set when the command fails before its data arrives: data is absorbed and
  // dropped, then CHECK CONDITION with this reason goes out.
  bool discard = false;
  scsi::SenseReason discard_reason = scsi::SenseReason::invalid_field_in_cdb;
  // The LU's abort generation for our nexus when the task arrived; another
  // nexus's PREEMPT AND ABORT changes it (LogicalUnit::abort_tasks_of_port).
  lu::LogicalUnit* unit = nullptr;
  uint64_t abort_generation = 0;

  // Execution. A queued task waits for the executor; a running one belongs to
  // the outstanding submission and is never freed before it comes back.
  enum class Stage : uint8_t { receiving, queued, running, done };
  Stage stage = Stage::receiving;
  std::atomic<bool> aborted{false};  // set by the connection's thread while running
  bool ran = false;                  // the executor ran it (read after `done`)
  // Tried on the loop without waiting and its data was not at hand (or it
  // came after such a one): back to the queue; must_wait sends it to the
  // executor next time.
  bool requeue = false;
  bool must_wait = false;
  std::unique_ptr<Buffer> din;       // read data, filled on the executor's thread
  scsi::ScsiTask st;
  // Its storage verb runs asynchronously (stage stays running until it is
  // back); io_status is written by the completing thread before the resumer.
  uint64_t deferred_read_bytes = 0;
  storage::IoStatus io_status = storage::IoStatus::ok;
};

}  // namespace scsipub::iscsi
