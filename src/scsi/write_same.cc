// SBC-3 5.42 WRITE SAME (10) and 5.43 WRITE SAME (16).
#include <algorithm>
#include <cstring>

#include "common/bytes.h"
#include "scsi/block_io.h"
#include "scsi/block_limits.h"
#include "scsi/handlers.h"

namespace scsipub::scsi::handlers {

namespace {

constexpr size_t kChunkBlocks = 128;  // 64 KiB of repeated pattern per store write

void do_write_same(Command& cmd, uint64_t lba, uint64_t blocks, uint16_t length_byte, bool unmap, bool ndob) {
  cmd.set_write_transfer_length(ndob ? 0 : storage::kBlockSize);
  const uint64_t cap = cmd.store().block_count();
  if (lba > cap) {
    cmd.fail(SenseReason::lba_out_of_range);
    return;
  }
  if (blocks == 0) {
    // SBC-3 5.42: zero means "to the last LBA" unless WSNZ is set; the
    // resulting length must still respect MAXIMUM WRITE SAME LENGTH.
    if (limits::kWriteSameNonZero) {
      cmd.invalid_cdb_field(length_byte);
      return;
    }
    blocks = cap - lba;
  }
  if (!check_lba_range(cmd, lba, blocks)) return;
  if (blocks > limits::kMaxWriteSameBlocks) {
    cmd.invalid_cdb_field(length_byte);
    return;
  }
  if (!check_writable(cmd)) return;
  if (!check_data_out(cmd, ndob ? 0 : storage::kBlockSize)) return;
  if (blocks == 0) return;

  auto pattern = cmd.data_out();
  // SBC-3 5.42: with UNMAP set on a thin LU the blocks are unmapped, whatever
  // the pattern says; LBPRZ then promises they read back as zeros (libiscsi's
  // UnmapUntilEnd sends 0xFF with UNMAP and expects zeros, as LIO does it).
  if (unmap && cmd.store().thin_provisioned()) {
    cmd.fail_io(cmd.store().unmap(lba, blocks), true);
    return;
  }
  const size_t chunk_blocks = size_t(std::min<uint64_t>(blocks, kChunkBlocks));
  uint8_t* chunk = cmd.reply_uninitialized(chunk_blocks * storage::kBlockSize);
  for (size_t i = 0; i < chunk_blocks; ++i) {
    uint8_t* dst = chunk + i * storage::kBlockSize;
    if (ndob)
      std::memset(dst, 0, storage::kBlockSize);
    else
      std::memcpy(dst, pattern.data(), storage::kBlockSize);
  }
  storage::IoStatus st = storage::IoStatus::ok;
  for (uint64_t done = 0; done < blocks && st == storage::IoStatus::ok;) {
    size_t n = size_t(std::min<uint64_t>(blocks - done, chunk_blocks));
    st = cmd.store().write(lba + done, {chunk, n * storage::kBlockSize});
    done += n;
  }
  cmd.out().clear();
  if (st == storage::IoStatus::ok && !cmd.lu().write_cache_enabled()) st = cmd.store().flush();
  cmd.fail_io(st, true);
}

}  // namespace

void write_same10(Command& cmd) {
  auto c = cmd.cdb();
  do_write_same(cmd, load_be32(&c[2]), load_be16(&c[7]), 7, c[1] & 0x08, false);
}

void write_same16(Command& cmd) {
  auto c = cmd.cdb();
  do_write_same(cmd, load_be64(&c[2]), load_be32(&c[10]), 10, c[1] & 0x08, c[1] & 0x01);
}

}  // namespace scsipub::scsi::handlers
