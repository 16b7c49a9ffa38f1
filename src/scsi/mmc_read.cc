// MMC-6 READ CAPACITY and READ (10/12/16) for DVD-ROM logical units, in
// 2048-byte blocks over a 512-byte block store; writes end in DATA PROTECT.
#include <algorithm>
#include <cstring>

#include "common/bytes.h"
#include "scsi/block_io.h"
#include "scsi/handlers.h"
#include "scsi/mmc_blocks.h"

namespace scsipub::scsi::handlers {

namespace {

void dvd_read(Command& cmd, const BlockRange& r, uint16_t length_byte) {
  // MMC-6 READ (10): an address range past the last block is LOGICAL BLOCK
  // ADDRESS OUT OF RANGE; TRANSFER LENGTH 0 transfers nothing and is no error.
  const uint64_t capacity = dvd_block_count(cmd.store());
  if (r.lba > capacity || r.blocks > capacity - r.lba) {
    cmd.fail(SenseReason::lba_out_of_range);
    return;
  }
  if (r.blocks > kMaxDvdTransferBlocks) {
    cmd.invalid_cdb_field(length_byte);
    return;
  }
  if (r.blocks == 0) return;
  const size_t bytes = size_t(r.blocks) * kDvdBlockSize;
  uint8_t* p = cmd.reply_uninitialized(bytes);
  // The last DVD block may reach past the store's end (an image size that is
  // not a multiple of 2048): read what exists, zero the rest.
  const uint64_t first = r.lba * kStoreBlocksPerDvdBlock;
  const uint64_t store_blocks = cmd.store().block_count();
  const uint64_t present = std::min<uint64_t>(r.blocks * kStoreBlocksPerDvdBlock, store_blocks - first);
  const size_t present_bytes = size_t(present) * storage::kBlockSize;
  std::memset(p + present_bytes, 0, bytes - present_bytes);
  if (present == 0) return;
  storage::IoStatus st = cmd.store().read(first, {p, present_bytes});
  if (st != storage::IoStatus::ok) cmd.fail_io(st, false);
}

}  // namespace

void mmc_read_capacity(Command& cmd) {
  // MMC-6 READ CAPACITY: the last logical block address of the disc and the
  // 2048-byte block length.
  const uint64_t blocks = dvd_block_count(cmd.store());
  const uint64_t last = blocks == 0 ? 0 : blocks - 1;
  uint8_t* p = cmd.reply(8);
  store_be32(p, last > 0xFFFFFFFEu ? 0xFFFFFFFFu : uint32_t(last));
  store_be32(p + 4, kDvdBlockSize);
}

void mmc_read10(Command& cmd) { dvd_read(cmd, decode_range10(cmd.cdb()), 7); }
void mmc_read12(Command& cmd) { dvd_read(cmd, decode_range12(cmd.cdb()), 6); }
void mmc_read16(Command& cmd) { dvd_read(cmd, decode_range16(cmd.cdb()), 10); }

// A pressed disc: anything that would change it is DATA PROTECT / WRITE
// PROTECTED, whatever its fields say (its CDB passed the usage mask).
void mmc_write_protected(Command& cmd) { cmd.fail(SenseReason::write_protected); }

}  // namespace scsipub::scsi::handlers
