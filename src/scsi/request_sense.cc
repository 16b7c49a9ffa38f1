// SPC-4 6.39 REQUEST SENSE: returns (and clears) the oldest pending unit
// attention, LOGICAL UNIT NOT SUPPORTED for a missing LUN, else NO SENSE.
#include <array>
#include <cstring>

#include "scsi/handlers.h"

namespace scsipub::scsi::handlers {

void request_sense(Command& cmd) {
  auto cdb = cmd.cdb();
  const bool desc = cdb[1] & 0x01;
  const uint8_t allocation_length = cdb[4];

  SenseCode code = sense_code(SenseReason::no_sense);
  if (lu::LogicalUnit* lu = cmd.lu_or_null()) {
    if (cmd.task().nexus != nullptr) {
      if (auto ua = lu->take_unit_attention(cmd.task().nexus->id))
        code = unit_attention_code(*ua);
    }
  } else {
    code = sense_code(SenseReason::lu_not_supported);
  }
  std::array<uint8_t, kMaxSenseLength> sense{};
  size_t n = build_sense(sense, desc, code);
  uint8_t* p = cmd.reply(n);
  std::memcpy(p, sense.data(), n);
  cmd.truncate(allocation_length);
}

}  // namespace scsipub::scsi::handlers
