#include "scsi/command_set.h"

namespace scsipub::scsi {

void CommandSet::execute(ScsiTask& task, const LunMap&) const {
  // Placeholder until the command table lands: INVALID COMMAND OPERATION CODE.
  task.status = status::kCheckCondition;
  task.sense = {};
  task.sense[0] = 0x70;
  task.sense[2] = 0x05;
  task.sense[7] = 10;
  task.sense[12] = 0x20;
  task.sense_length = 18;
}

}  // namespace scsipub::scsi
