#include "scsi/command_set.h"

#include "scsi/command.h"
#include "scsi/opcode_table.h"
#include "scsi/sense.h"

namespace scsipub::scsi {

namespace {

// SPC-4 4.2.5: the first bit that is set in the CDB but clear in the usage
// bitmap, reported with a field pointer.
bool check_cdb_usage(Command& cmd, const OpcodeInfo& info) {
  auto cdb = cmd.cdb();
  for (size_t i = 0; i < info.cdb_length; ++i) {
    uint8_t bad = uint8_t(cdb[i] & ~info.usage[i]);
    if (bad == 0) continue;
    int8_t bit = 7;
    while (bit > 0 && (bad & (1u << bit)) == 0) --bit;
    cmd.invalid_cdb_field(uint16_t(i), bit);
    return false;
  }
  return true;
}

}  // namespace

void CommandSet::execute(ScsiTask& task, const LunMap& luns) const {
  Buffer scratch;
  Buffer& out = task.data_in != nullptr ? *task.data_in : scratch;
  out.clear();
  task.status = status::kGood;
  task.sense_length = 0;
  task.write_transfer_length = 0;
  task.would_block = false;
  task.deferred = {};

  lu::LogicalUnit* lu = luns.find(task.lun);
  bool descriptor_sense = lu != nullptr && lu->descriptor_sense();
  Command cmd(task, lu, luns, out, descriptor_sense);

  if (task.cdb.empty()) {
    cmd.fail(SenseReason::invalid_opcode);
    return;
  }
  const uint8_t opcode = task.cdb[0];
  uint16_t service_action = 0;
  if (opcode_has_service_actions(opcode) && task.cdb.size() >= 2) service_action = task.cdb[1] & 0x1F;
  // The LU's peripheral device type picks the table (SBC-3 disk, MMC-6 DVD-ROM).
  const std::span<const OpcodeInfo> table = tables_.for_lu(lu);
  const OpcodeInfo* info = find_opcode(table, opcode, service_action);
  const uint8_t flags = info != nullptr ? info->flags : 0;

  // SPC-4 4.6.2 / SAM-5 5.9: a LUN that does not exist answers INQUIRY (with
  // peripheral qualifier 011b), REPORT LUNS and REQUEST SENSE; everything else
  // gets LOGICAL UNIT NOT SUPPORTED.
  if (lu == nullptr && (flags & opflag::kNoLogicalUnit) == 0) {
    cmd.fail(SenseReason::lu_not_supported);
    return;
  }

  // SAM-5 5.14 / SPC-4 5.14: with a unit attention pending for this I_T nexus,
  // every command except INQUIRY, REPORT LUNS and REQUEST SENSE (even an
  // unknown one) is terminated with CHECK CONDITION, UNIT ATTENTION, and that
  // condition is cleared.
  if (lu != nullptr && task.nexus != nullptr && (flags & opflag::kAllowedWithUa) == 0) {
    if (auto ua = lu->take_unit_attention(task.nexus->id)) {
      cmd.fail(unit_attention_code(*ua));
      return;
    }
  }

  if (info == nullptr) {
    // SPC-4 4.2.5.1: an unsupported operation code is INVALID COMMAND
    // OPERATION CODE. Of the operation codes we implement, PERSISTENT RESERVE
    // IN/OUT answer an unsupported service action with INVALID FIELD IN CDB
    // (SPC-4 6.15.1, 6.16.1; what initiators probing for PR expect).
    const bool has_pr = find_opcode(table, 0x5E, 0) != nullptr;
    if (has_pr && (opcode == 0x5E || opcode == 0x5F)) {
      cmd.invalid_cdb_field(1, 4);
    } else {
      cmd.fail(SenseReason::invalid_opcode);
    }
    return;
  }
  if (task.cdb.size() < info->cdb_length) {
    cmd.invalid_cdb_field(0);
    return;
  }
  cmd.limit_cdb(info->cdb_length);
  if (!check_cdb_usage(cmd, *info)) return;
  // The iSCSI flags against the CDB (rule: transfer_contradicts_cdb).
  if (transfer_contradicts_cdb(info->direction, task.write_flag, task.expected_length)) {
    cmd.fail(SenseReason::invalid_field_in_iu);
    return;
  }

  // MMC-6: with the disc ejected, commands that need the medium end in NOT
  // READY, MEDIUM NOT PRESENT - TRAY OPEN until START STOP UNIT loads it.
  if ((flags & opflag::kNeedsMedium) != 0 && !lu->medium_present()) {
    cmd.fail(SenseReason::medium_not_present_tray_open);
    return;
  }

  // SPC-4 5.9.1 / SPC-2 5.5.1: after unit attentions and CDB checks (the
  // order LIO uses), a command another nexus's reservation forbids. Only
  // commands in the table get here: an unsupported operation code is INVALID
  // COMMAND OPERATION CODE even under a reservation (what LIO answers too;
  // SAM-5 5.3.2 ranks RESERVATION CONFLICT above CHECK CONDITION only for a
  // command that has both, and an unknown command has no reservation class).
  if (lu != nullptr && task.nexus != nullptr) {
    const lu::LuExtension* ext = lu->extension();
    if (ext != nullptr && ext->conflicts(reservation_access(*info, cmd.cdb()), *task.nexus)) {
      out.clear();
      task.status = status::kReservationConflict;
      return;
    }
  }

  info->handler(cmd);
  // No data-in after CHECK CONDITION (Command::fail clears it too).
  if (task.status != status::kGood && task.status != status::kConditionMet) out.clear();
}

void CommandSet::fail(ScsiTask& task, const LunMap& luns, SenseReason reason) const {
  Buffer scratch;
  Buffer& out = task.data_in != nullptr ? *task.data_in : scratch;
  lu::LogicalUnit* lu = luns.find(task.lun);
  Command cmd(task, lu, luns, out, lu != nullptr && lu->descriptor_sense());
  cmd.fail(reason);
}

void CommandSet::complete_deferred(ScsiTask& task, const LunMap& luns, storage::IoStatus status) const {
  const bool writing = task.deferred.kind == ScsiTask::DeferredIo::Kind::write;
  task.deferred = {};
  if (status == storage::IoStatus::ok) return;
  Buffer scratch;
  Buffer& out = task.data_in != nullptr ? *task.data_in : scratch;
  lu::LogicalUnit* lu = luns.find(task.lun);
  Command cmd(task, lu, luns, out, lu != nullptr && lu->descriptor_sense());
  cmd.fail_io(status, writing);
}

}  // namespace scsipub::scsi
