#pragma once
// SPC-4 / SBC-3 direct-access command set: the opcode table and its handlers.
#include "scsi/scsi_task.h"

namespace scsipub::scsi {

class CommandSet {
 public:
  // Executes one command to completion. Routes by task.lun through `luns`;
  // an unknown LUN gets LOGICAL UNIT NOT SUPPORTED (INQUIRY: qualifier 011b).
  void execute(ScsiTask& task, const LunMap& luns) const;
};

}  // namespace scsipub::scsi
