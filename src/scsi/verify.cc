// SBC-3 5.29-5.31 VERIFY (10/12/16) and 5.35-5.37 WRITE AND VERIFY (10/12/16).
#include <algorithm>

#include "common/bytes.h"
#include "scsi/block_io.h"
#include "scsi/handlers.h"

namespace scsipub::scsi::handlers {

namespace {

// Offset of the first byte where a and b differ, or -1.
int64_t first_mismatch(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  if (ia == a.end()) return -1;
  return ia - a.begin();
}

void do_verify(Command& cmd, const BlockRange& r, uint16_t length_byte) {
  const uint8_t bytchk = (cmd.cdb()[1] >> 1) & 0x03;
  // SBC-3 5.29: BYTCHK 00b: medium verification only (no data-out);
  // 01b: compare the data-out with the medium; 11b: compare every block with
  // the one block sent; 10b is reserved.
  if (bytchk == 0x2) {
    cmd.invalid_cdb_field(1, 2);
    return;
  }
  if (bytchk == 0) {
    cmd.set_write_transfer_length(0);
    if (!check_lba_range(cmd, r.lba, r.blocks)) return;
    check_data_out(cmd, 0);
    return;
  }
  if (!check_transfer(cmd, r, length_byte, true)) return;
  const uint64_t expected = bytchk == 0x1 ? r.blocks * storage::kBlockSize
                                          : (r.blocks == 0 ? 0 : storage::kBlockSize);
  if (!check_data_out(cmd, expected)) return;
  if (r.blocks == 0) return;
  std::span<const uint8_t> medium;
  if (!read_scratch(cmd, r, &medium)) return;
  auto data = cmd.data_out();
  int64_t at = -1;
  if (bytchk == 0x1) {
    at = first_mismatch(medium, data);
  } else {
    for (uint64_t b = 0; b < r.blocks && at < 0; ++b) {
      int64_t m = first_mismatch(medium.subspan(b * storage::kBlockSize, storage::kBlockSize), data);
      if (m >= 0) at = int64_t(b * storage::kBlockSize) + m;
    }
  }
  cmd.out().clear();
  // SBC-3 5.29: MISCOMPARE, INFORMATION = offset of the first differing byte.
  if (at >= 0) cmd.fail(SenseReason::miscompare_during_verify, {.information = uint64_t(at)});
}

// WRITE AND VERIFY: the data-out is written, then made durable; verifying
// what the store acknowledged (BYTCHK 1 compares it with itself) is implied.
void do_write_verify(Command& cmd, const BlockRange& r, uint16_t length_byte) {
  if (!check_transfer(cmd, r, length_byte, true)) return;
  if (!check_writable(cmd)) return;
  BlockRange w = r;
  if (!fit_write_to_data_out(cmd, w)) return;
  write_blocks(cmd, w, cmd.data_out().first(w.blocks * storage::kBlockSize), true);
}

}  // namespace

void verify10(Command& cmd) { do_verify(cmd, decode_range10(cmd.cdb()), 7); }
void verify12(Command& cmd) { do_verify(cmd, decode_range12(cmd.cdb()), 6); }
void verify16(Command& cmd) { do_verify(cmd, decode_range16(cmd.cdb()), 10); }

void write_verify10(Command& cmd) { do_write_verify(cmd, decode_range10(cmd.cdb()), 7); }
void write_verify12(Command& cmd) { do_write_verify(cmd, decode_range12(cmd.cdb()), 6); }
void write_verify16(Command& cmd) { do_write_verify(cmd, decode_range16(cmd.cdb()), 10); }

}  // namespace scsipub::scsi::handlers
