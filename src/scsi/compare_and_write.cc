// SBC-3 5.2 COMPARE AND WRITE and 5.5 ORWRITE (16): read-modify-write commands.
//
// Atomicity: both run under LogicalUnit::lock_for_atomic_update(), so two of
// them (e.g. VMware ATS heartbeats from two hosts) never interleave. Plain
// WRITEs do not take that lock; the iSCSI layer runs one command at a time per
// session, so only another session's plain WRITE could slip between our read
// and write, which ATS users do not rely on.
#include <algorithm>

#include "common/bytes.h"
#include "scsi/block_io.h"
#include "scsi/block_limits.h"
#include "scsi/handlers.h"

namespace scsipub::scsi::handlers {

void compare_and_write(Command& cmd) {
  auto c = cmd.cdb();
  const BlockRange r{load_be64(&c[2]), c[13]};
  const bool fua = c[1] & 0x08;
  cmd.set_write_transfer_length(2 * r.blocks * storage::kBlockSize);
  // SBC-3 5.2: NUMBER OF LOGICAL BLOCKS above MAXIMUM COMPARE AND WRITE LENGTH.
  if (r.blocks > limits::kMaxCompareAndWriteBlocks) {
    cmd.invalid_cdb_field(13);
    return;
  }
  // A zero-length COMPARE AND WRITE that carries data means the length field
  // was truncated (libiscsi sends 256 blocks as 0): the CDB is what is wrong.
  if (r.blocks == 0 && !cmd.data_out().empty()) {
    cmd.invalid_cdb_field(13);
    return;
  }
  if (!check_lba_range(cmd, r.lba, r.blocks)) return;
  if (!check_writable(cmd)) return;
  if (!check_data_out(cmd, 2 * r.blocks * storage::kBlockSize)) return;
  if (r.blocks == 0) return;  // SBC-3 5.2: zero blocks is not an error

  const size_t half = size_t(r.blocks) * storage::kBlockSize;
  auto verify = cmd.data_out().first(half);
  auto write = cmd.data_out().subspan(half, half);

  auto lock = cmd.lu().lock_for_atomic_update();
  std::span<const uint8_t> medium;
  if (!read_scratch(cmd, r, &medium)) return;
  auto [im, iv] = std::mismatch(medium.begin(), medium.end(), verify.begin(), verify.end());
  const bool equal = im == medium.end();
  const uint64_t offset = uint64_t(im - medium.begin());
  cmd.out().clear();
  if (!equal) {
    // SBC-3 5.2: MISCOMPARE DURING VERIFY OPERATION, INFORMATION = offset.
    cmd.fail(SenseReason::miscompare_during_verify, {.information = offset});
    return;
  }
  write_blocks(cmd, r, write, fua);
}

void orwrite16(Command& cmd) {
  auto c = cmd.cdb();
  const BlockRange r{load_be64(&c[2]), load_be32(&c[10])};
  const bool fua = c[1] & 0x08;
  if (!check_transfer(cmd, r, 10, true)) return;
  if (!check_writable(cmd)) return;
  if (!check_data_out(cmd, r.blocks * storage::kBlockSize)) return;
  if (r.blocks == 0) return;

  auto lock = cmd.lu().lock_for_atomic_update();
  std::span<const uint8_t> medium;
  if (!read_scratch(cmd, r, &medium)) return;
  // SBC-3 5.5: the new contents are the bitwise OR of medium and data-out.
  uint8_t* p = cmd.out().data();
  auto data = cmd.data_out();
  for (size_t i = 0; i < medium.size(); ++i) p[i] = uint8_t(p[i] | data[i]);
  write_blocks(cmd, r, {p, medium.size()}, fua);
  cmd.out().clear();
}

}  // namespace scsipub::scsi::handlers
