// START STOP UNIT and PREVENT ALLOW MEDIUM REMOVAL for a DVD-ROM logical unit.
//
// The disc is the catalog image; the tray works as MMC-6 describes it. An
// eject (LOEJ = 1, START = 0) while any I_T nexus prevents removal is refused
// with ILLEGAL REQUEST, MEDIUM REMOVAL PREVENTED; otherwise the disc leaves
// and every command that needs it ends in NOT READY, MEDIUM NOT PRESENT - TRAY
// OPEN (opflag::kNeedsMedium) until a load (LOEJ = 1, START = 1) puts the same
// disc back. That is what initiators expect of a removable medium (libiscsi's
// StartStopUnit tests check exactly this), and `eject -t` / a load brings the
// session's only disc back, so an eject never leaves the unit unusable.
#include "scsi/handlers.h"

namespace scsipub::scsi::handlers {

void mmc_start_stop_unit(Command& cmd) {
  auto c = cmd.cdb();
  const uint8_t power_conditions = c[4] >> 4;
  const bool load_eject = c[4] & 0x02;
  const bool start = c[4] & 0x01;
  // MMC-6: with a nonzero POWER CONDITIONS field START and LOEJ are ignored.
  // There are no power states to enter, so every value is accepted as a no-op
  // (libiscsi's StartStopUnit.PwrCnd sends 1h..Fh and expects GOOD).
  if (power_conditions != 0 || !load_eject) return;
  // FL (format-layer, bit 2) and the FORMAT-LAYER NUMBER select a layer for
  // layer jump recording on writable media: nothing to select on a pressed
  // disc; ignored (SBC's NO_FLUSH sits in the same bit).
  lu::LogicalUnit& unit = cmd.lu();
  if (start) {
    if (!unit.medium_present()) {
      unit.set_medium_present(true);
      // MMC-6: the other initiators learn that the medium may have changed.
      unit.raise_unit_attention(lu::ua::kMediumMayHaveChanged, cmd.nexus_id());
    }
    return;
  }
  if (unit.removal_prevented()) {
    cmd.fail(SenseReason::medium_removal_prevented);
    return;
  }
  unit.set_medium_present(false);
}

// MMC-6 / SPC-4 6.13: PREVENT (bit 0) is kept per I_T nexus; PERSISTENT
// (bit 1) is about media-removal events after a power-on and is accepted.
void mmc_prevent_allow_medium_removal(Command& cmd) {
  cmd.lu().set_prevent_removal(cmd.nexus_id(), (cmd.cdb()[4] & 0x01) != 0);
}

}  // namespace scsipub::scsi::handlers
