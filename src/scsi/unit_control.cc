// Commands that move no user data: TEST UNIT READY, START STOP UNIT,
// PREVENT ALLOW MEDIUM REMOVAL, SYNCHRONIZE CACHE, PRE-FETCH, READ DEFECT DATA.
#include "common/bytes.h"
#include "scsi/handlers.h"

namespace scsipub::scsi::handlers {

// SPC-4 6.37: the medium is always ready.
void test_unit_ready(Command&) {}

// SBC-3 5.25: a non-removable, always spinning disk; accepted and ignored,
// but reserved POWER CONDITION values are rejected.
void start_stop_unit(Command& cmd) {
  const uint8_t power_condition = cmd.cdb()[4] >> 4;
  switch (power_condition) {
    case 0x0: case 0x1: case 0x2: case 0x3: case 0x7: case 0xA: case 0xB:
      return;
    default:
      cmd.invalid_cdb_field(4, 7);
  }
}

// SPC-4 6.13: PREVENT 00b/01b accepted (nothing to lock); 10b/11b are obsolete.
void prevent_allow_medium_removal(Command& cmd) {
  if ((cmd.cdb()[4] & 0x03) > 1) cmd.invalid_cdb_field(4, 1);
}

namespace {
// SBC-3 5.26: NUMBER OF LOGICAL BLOCKS 0 means from LBA to the last LBA.
void synchronize_cache(Command& cmd, uint64_t lba, uint64_t blocks) {
  if (!check_lba_range(cmd, lba, blocks)) return;
  cmd.fail_io(cmd.store().flush(), true);
}

// SBC-3 5.6: we keep no cache to fill; range-checked, then GOOD (libiscsi
// expects GOOD rather than CONDITION MET).
void prefetch(Command& cmd, uint64_t lba, uint64_t blocks) { check_lba_range(cmd, lba, blocks); }
}  // namespace

void synchronize_cache10(Command& cmd) {
  auto c = cmd.cdb();
  synchronize_cache(cmd, load_be32(&c[2]), load_be16(&c[7]));
}

void synchronize_cache16(Command& cmd) {
  auto c = cmd.cdb();
  synchronize_cache(cmd, load_be64(&c[2]), load_be32(&c[10]));
}

void prefetch10(Command& cmd) {
  auto c = cmd.cdb();
  prefetch(cmd, load_be32(&c[2]), load_be16(&c[7]));
}

void prefetch16(Command& cmd) {
  auto c = cmd.cdb();
  prefetch(cmd, load_be64(&c[2]), load_be32(&c[10]));
}

// SBC-3 5.19 / 5.20: an empty defect list in the requested format.
void read_defect_data10(Command& cmd) {
  auto c = cmd.cdb();
  uint8_t* p = cmd.reply(4);
  p[1] = c[2] & 0x1F;  // REQ_PLIST, REQ_GLIST, DEFECT LIST FORMAT echoed
  cmd.truncate(load_be16(&c[7]));
}

void read_defect_data12(Command& cmd) {
  auto c = cmd.cdb();
  uint8_t* p = cmd.reply(8);
  p[1] = c[1] & 0x1F;
  cmd.truncate(load_be32(&c[6]));
}

}  // namespace scsipub::scsi::handlers
