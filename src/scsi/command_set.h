#pragma once
// SPC-4 / SBC-3 direct-access command set: the opcode table and its handlers.
//
// Contract with the iSCSI layer:
//  - execute() runs one command to completion, synchronously. Call it after all
//    write data is collected; task.data_in must point at a Buffer.
//  - Data-in: send min(data_in->size(), EDTL) bytes; the residual comes from
//    data_in->size() (it may exceed EDTL: overflow). Data-in is empty whenever
//    the status is not GOOD.
//  - Writes: task.write_transfer_length is the SPDTL the CDB asks for; compute
//    write residuals from it. Plain WRITEs with data_out.size() != SPDTL fail
//    with INVALID FIELD IN INFORMATION UNIT and write nothing.
//  - Sense: task.sense[0..sense_length) goes into the SCSI Response data
//    segment (after the 2-byte SenseLength).
//  - Nexus lifetime: LogicalUnit::attach(nexus) at login for every LU of the
//    target, detach(nexus.id) at logout / connection loss (the LU then stops
//    keeping unit attentions for it).
//  - Task management: LOGICAL UNIT RESET -> LogicalUnit::logical_unit_reset();
//    TARGET WARM RESET -> target_reset(false) on every LU of the target;
//    TARGET COLD RESET -> target_reset(true), then drop the connections.
//    ABORT TASK needs nothing here: commands never block inside execute().
#include "scsi/lun_map.h"
#include "scsi/opcode_table.h"
#include "scsi/scsi_task.h"
#include "scsi/sense.h"

namespace scsipub::scsi {

// Whether executing a command may wait (on a device, a database, a lock other
// sessions take), as CommandSet::waits answers it.
enum class Wait : uint8_t {
  never,          // memory work: INQUIRY, a READ or WRITE a store serves from memory
  unless_cached,  // a READ: run with ScsiTask::no_wait, it either finishes or says would_block
  may,            // everything else
  // A READ or WRITE of a store with asynchronous verbs: run with
  // ScsiTask::defer_io on the session's thread, which then starts the verb
  // and ends the command with complete_deferred() when it completes.
  deferred,
};

class CommandSet {
 public:
  // The standard opcode tables; tests may dispatch with their own.
  CommandSet() = default;
  explicit CommandSet(OpcodeTables tables) : tables_(tables) {}

  // Executes one command to completion. Routes by task.lun through `luns`;
  // an unknown LUN gets LOGICAL UNIT NOT SUPPORTED (INQUIRY: qualifier 011b).
  void execute(ScsiTask& task, const LunMap& luns) const;

  // Ends a task the iSCSI layer refuses without running it (e.g. a data
  // phase error): CHECK CONDITION with the sense for `reason`, in the format
  // (D_SENSE) of the logical unit task.lun names.
  void fail(ScsiTask& task, const LunMap& luns, SenseReason reason) const;

  // Ends a command execute() left with a deferred storage verb, once the verb
  // completed with `status`: GOOD, or CHECK CONDITION with the sense the
  // synchronous path gives (and no data-in).
  void complete_deferred(ScsiTask& task, const LunMap& luns, storage::IoStatus status) const;

  // Whether execute() of this task may wait. The iSCSI layer runs what never
  // waits on its event loop, tries reads there with no_wait, and hands the
  // rest to a storage thread. Reads the store's state: call it on the
  // session's thread, never while a command of that session executes.
  Wait waits(const ScsiTask& task, const LunMap& luns) const;

 private:
  OpcodeTables tables_;
};

}  // namespace scsipub::scsi
