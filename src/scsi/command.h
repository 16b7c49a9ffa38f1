#pragma once
// The per-command context handed to every handler: the task, the addressed
// logical unit, the opcode table row, and helpers that set CHECK CONDITION
// with the right sense format.
#include <cstdint>
#include <span>

#include "common/buffer.h"
#include "scsi/lun_map.h"
#include "scsi/scsi_task.h"
#include "scsi/sense.h"
#include "storage/block_store.h"

namespace scsipub::scsi {

struct OpcodeInfo;

class Command {
 public:
  Command(ScsiTask& task, lu::LogicalUnit* lu, const LunMap& luns, Buffer& out, bool descriptor_sense)
      : task_(task), cdb_(task.cdb), lu_(lu), luns_(luns), out_(out), descriptor_sense_(descriptor_sense) {}

  ScsiTask& task() { return task_; }
  std::span<const uint8_t> cdb() const { return cdb_; }
  void limit_cdb(size_t length) { cdb_ = cdb_.first(length < cdb_.size() ? length : cdb_.size()); }
  // Only INQUIRY, REPORT LUNS and REQUEST SENSE run without a logical unit.
  lu::LogicalUnit* lu_or_null() { return lu_; }
  lu::LogicalUnit& lu() { return *lu_; }
  storage::BlockStore& store() { return lu_->store(); }
  const LunMap& luns() const { return luns_; }
  bool descriptor_sense() const { return descriptor_sense_; }
  std::span<const uint8_t> data_out() const { return task_.data_out; }
  uint64_t nexus_id() const { return task_.nexus != nullptr ? task_.nexus->id : 0; }
  // The SPDTL of a command that takes Data-Out (bytes the CDB asks for), for
  // the iSCSI layer's residuals; saturates at the 32-bit field of RFC 7143
  // 11.4.5 (an overflow that large is reported as UINT32_MAX).
  void set_write_transfer_length(uint64_t bytes) {
    task_.write_transfer_length = bytes > UINT32_MAX ? UINT32_MAX : uint32_t(bytes);
  }

  // Data-in: every byte zeroed, so nothing stale can reach the initiator.
  uint8_t* reply(size_t n) { return out_.prepare_zeroed(n); }
  // Data-in filled by the caller (READ from storage); unspecified contents.
  uint8_t* reply_uninitialized(size_t n) { return out_.prepare(n); }
  // SPC-4 4.2.5.6: return no more than the allocation length.
  void truncate(size_t allocation_length) {
    if (out_.size() > allocation_length) out_.resize(allocation_length);
  }
  Buffer& out() { return out_; }

  void fail(SenseReason reason, const SenseDetail& detail = {});
  void fail(const SenseCode& code, const SenseDetail& detail = {});
  void invalid_cdb_field(uint16_t byte, int8_t bit = -1);
  void invalid_param_field(uint16_t byte, int8_t bit = -1);
  void fail_io(storage::IoStatus status, bool writing);
  bool failed() const { return task_.status != status::kGood; }

 private:
  ScsiTask& task_;
  std::span<const uint8_t> cdb_;
  lu::LogicalUnit* lu_;
  const LunMap& luns_;
  Buffer& out_;
  bool descriptor_sense_;
};

// Shared checks for block commands.
// SBC-3 4.5: the range [lba, lba+blocks) must lie within the capacity.
bool check_lba_range(Command& cmd, uint64_t lba, uint64_t blocks);
// SBC-3 5.x: a write to a write-protected medium (read-only store).
bool check_writable(Command& cmd);
// Records the SPDTL for residuals and checks the received data-out length
// (libiscsi Write*Residuals: INVALID FIELD IN INFORMATION UNIT, nothing written).
bool check_data_out(Command& cmd, uint64_t expected_bytes);

}  // namespace scsipub::scsi
