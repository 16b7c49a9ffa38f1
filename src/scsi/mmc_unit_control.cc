// START STOP UNIT and PREVENT ALLOW MEDIUM REMOVAL for a DVD-ROM logical unit.
//
// The disc is an image file: it cannot leave the drive and nothing can be put
// in its place. An eject request (LOEJ = 1, START = 0) while removal is
// prevented is refused as MMC-6 requires (ILLEGAL REQUEST, MEDIUM REMOVAL
// PREVENTED); otherwise it is accepted and the disc stays loaded, as if the
// tray had been closed again at once. Emulating an empty drive instead would
// leave the session with a unit it can never use again (there is no "insert"),
// so every other command keeps working after an eject.
#include "scsi/handlers.h"

namespace scsipub::scsi::handlers {

void mmc_start_stop_unit(Command& cmd) {
  auto c = cmd.cdb();
  const uint8_t power_condition = c[4] >> 4;
  const bool format_layer = c[4] & 0x04;
  const bool load_eject = c[4] & 0x02;
  const bool start = c[4] & 0x01;
  // MMC-6: POWER CONDITION 0h (START/LOEJ apply), 1h idle, 2h standby, 3h
  // sleep, 7h LU control, Ah / Bh forced idle / standby; others are reserved.
  switch (power_condition) {
    case 0x0: break;
    case 0x1: case 0x2: case 0x3: case 0x7: case 0xA: case 0xB:
      return;  // START and LOEJ are ignored with a power condition
    default:
      cmd.invalid_cdb_field(4, 7);
      return;
  }
  // FL (format-layer) belongs to DVD+RW / BD-RE layer jump recording.
  if (format_layer) {
    cmd.invalid_cdb_field(4, 2);
    return;
  }
  if (load_eject && !start && cmd.lu().removal_prevented()) cmd.fail(SenseReason::medium_removal_prevented);
}

// MMC-6 / SPC-4 6.13: PREVENT (bit 0) is kept per I_T nexus; PERSISTENT
// (bit 1) is about media-removal events after a power-on and is accepted.
void mmc_prevent_allow_medium_removal(Command& cmd) {
  cmd.lu().set_prevent_removal(cmd.nexus_id(), (cmd.cdb()[4] & 0x01) != 0);
}

}  // namespace scsipub::scsi::handlers
