#include "scsi/command.h"

namespace scsipub::scsi {

void Command::fail(const SenseCode& code, const SenseDetail& detail) {
  task_.status = status::kCheckCondition;
  task_.sense_length = uint8_t(build_sense(task_.sense, descriptor_sense_, code, detail));
  out_.clear();  // no data-in with CHECK CONDITION
}

void Command::fail(SenseReason reason, const SenseDetail& detail) { fail(sense_code(reason), detail); }

void Command::invalid_cdb_field(uint16_t byte, int8_t bit) {
  fail(SenseReason::invalid_field_in_cdb, {.field = FieldPointer{true, byte, bit}});
}

void Command::invalid_param_field(uint16_t byte, int8_t bit) {
  fail(SenseReason::invalid_field_in_parameter_list, {.field = FieldPointer{false, byte, bit}});
}

void Command::fail_io(storage::IoStatus st, bool writing) {
  switch (st) {
    case storage::IoStatus::ok:
      return;
    case storage::IoStatus::out_of_range:
      fail(SenseReason::lba_out_of_range);
      return;
    case storage::IoStatus::write_protected:
      fail(SenseReason::write_protected);
      return;
    case storage::IoStatus::space_exhausted:
      fail(SenseReason::space_exhausted);
      return;
    case storage::IoStatus::io_error:
      fail(writing ? SenseReason::write_error : SenseReason::unrecovered_read_error);
      return;
    case storage::IoStatus::unavailable:
      fail(SenseReason::becoming_ready);
      return;
  }
  fail(SenseReason::internal_target_failure);
}

bool check_lba_range(Command& cmd, uint64_t lba, uint64_t blocks) {
  uint64_t cap = cmd.store().block_count();
  if (lba > cap || blocks > cap - lba) {
    cmd.fail(SenseReason::lba_out_of_range);
    return false;
  }
  return true;
}

bool check_writable(Command& cmd) {
  if (cmd.store().read_only()) {
    cmd.fail(SenseReason::write_protected);
    return false;
  }
  return true;
}

bool check_data_out(Command& cmd, uint64_t expected_bytes) {
  cmd.set_write_transfer_length(expected_bytes);
  if (cmd.data_out().size() != expected_bytes) {
    cmd.fail(SenseReason::invalid_field_in_iu);
    return false;
  }
  return true;
}

}  // namespace scsipub::scsi
