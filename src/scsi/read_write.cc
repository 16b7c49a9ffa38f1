// SBC-3 5.8-5.13 READ (6/10/12/16) and 5.32-5.39 WRITE (6/10/12/16).
#include "common/bytes.h"
#include "scsi/block_io.h"
#include "scsi/handlers.h"

namespace scsipub::scsi::handlers {

namespace {

void do_read(Command& cmd, const BlockRange& r, uint16_t length_byte) {
  // RDPROTECT is not in the CDB usage mask: nonzero was already rejected.
  // DPO and FUA need no action for a read (no cache of our own to bypass).
  if (!check_transfer(cmd, r, length_byte, false)) return;
  read_blocks(cmd, r);
}

void do_write(Command& cmd, const BlockRange& r, uint16_t length_byte, bool fua) {
  if (!check_transfer(cmd, r, length_byte, true)) return;
  if (!check_writable(cmd)) return;
  BlockRange w = r;
  if (!fit_write_to_data_out(cmd, w)) return;
  write_blocks(cmd, w, cmd.data_out().first(w.blocks * storage::kBlockSize), fua);
}


}  // namespace

void read6(Command& cmd) { do_read(cmd, decode_range6(cmd.cdb()), 4); }
void read10(Command& cmd) { do_read(cmd, decode_range10(cmd.cdb()), 7); }
void read12(Command& cmd) { do_read(cmd, decode_range12(cmd.cdb()), 6); }
void read16(Command& cmd) { do_read(cmd, decode_range16(cmd.cdb()), 10); }

void write6(Command& cmd) { do_write(cmd, decode_range6(cmd.cdb()), 4, false); }
void write10(Command& cmd) { do_write(cmd, decode_range10(cmd.cdb()), 7, fua_bit(cmd.cdb())); }
void write12(Command& cmd) { do_write(cmd, decode_range12(cmd.cdb()), 6, fua_bit(cmd.cdb())); }
void write16(Command& cmd) { do_write(cmd, decode_range16(cmd.cdb()), 10, fua_bit(cmd.cdb())); }

}  // namespace scsipub::scsi::handlers
