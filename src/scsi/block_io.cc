#include "scsi/block_io.h"

#include "common/bytes.h"
#include "scsi/block_limits.h"

namespace scsipub::scsi {

// SBC-3 5.13 / 5.39: 21-bit LBA; TRANSFER LENGTH 0 means 256 blocks.
BlockRange decode_range6(std::span<const uint8_t> c) {
  uint64_t lba = uint64_t(c[1] & 0x1F) << 16 | uint64_t(c[2]) << 8 | c[3];
  return {lba, c[4] == 0 ? 256u : c[4]};
}
BlockRange decode_range10(std::span<const uint8_t> c) { return {load_be32(&c[2]), load_be16(&c[7])}; }
BlockRange decode_range12(std::span<const uint8_t> c) { return {load_be32(&c[2]), load_be32(&c[6])}; }
BlockRange decode_range16(std::span<const uint8_t> c) { return {load_be64(&c[2]), load_be32(&c[10])}; }
bool fua_bit(std::span<const uint8_t> c) { return (c[1] & 0x08) != 0; }

bool check_transfer(Command& cmd, const BlockRange& r, uint16_t length_byte, bool writing) {
  if (writing) cmd.set_write_transfer_length(r.blocks * storage::kBlockSize);  // blocks < 2^32: no overflow
  if (!check_lba_range(cmd, r.lba, r.blocks)) return false;
  // SBC-3 6.5.3: a TRANSFER LENGTH above MAXIMUM TRANSFER LENGTH is an invalid field.
  if (r.blocks > limits::kMaxTransferBlocks) {
    cmd.invalid_cdb_field(length_byte);
    return false;
  }
  return true;
}

void read_blocks(Command& cmd, const BlockRange& r) {
  size_t bytes = size_t(r.blocks) * storage::kBlockSize;
  if (bytes == 0) return;
  uint8_t* p = cmd.reply_uninitialized(bytes);
  if (cmd.task().defer_io) {
    cmd.task().deferred = {ScsiTask::DeferredIo::Kind::read, r.lba, {p, bytes}, {}, false};
    return;
  }
  if (cmd.task().no_wait) {
    // Nothing before this point changed any state a second run would see
    // differently (a pending unit attention ends the command earlier).
    if (!cmd.store().read_now(r.lba, {p, bytes})) cmd.task().would_block = true;
    return;
  }
  storage::IoStatus st = cmd.store().read(r.lba, {p, bytes});
  if (st != storage::IoStatus::ok) cmd.fail_io(st, false);  // clears the buffer
}

bool read_scratch(Command& cmd, const BlockRange& r, std::span<const uint8_t>* out) {
  size_t bytes = size_t(r.blocks) * storage::kBlockSize;
  uint8_t* p = cmd.reply_uninitialized(bytes);
  storage::IoStatus st = bytes == 0 ? storage::IoStatus::ok : cmd.store().read(r.lba, {p, bytes});
  if (st != storage::IoStatus::ok) {
    cmd.fail_io(st, false);
    return false;
  }
  *out = {p, bytes};
  return true;
}

void write_blocks(Command& cmd, const BlockRange& r, std::span<const uint8_t> data, bool fua) {
  if (r.blocks == 0) return;
  const auto bytes = data.first(size_t(r.blocks) * storage::kBlockSize);
  const bool flush_after = fua || !cmd.lu().write_cache_enabled();
  if (cmd.task().defer_io) {
    cmd.task().deferred = {ScsiTask::DeferredIo::Kind::write, r.lba, {}, bytes, flush_after};
    return;
  }
  storage::IoStatus st = cmd.store().write(r.lba, bytes);
  if (st == storage::IoStatus::ok && flush_after) st = cmd.store().flush();
  cmd.fail_io(st, true);
}

bool fit_write_to_data_out(Command& cmd, BlockRange& r) {
  const uint64_t wanted = r.blocks * storage::kBlockSize;
  cmd.set_write_transfer_length(wanted);
  const size_t got = cmd.data_out().size();
  if (got >= wanted) return true;
  if (got % storage::kBlockSize != 0) {
    cmd.fail(SenseReason::invalid_field_in_iu);
    return false;
  }
  r.blocks = got / storage::kBlockSize;
  return true;
}

}  // namespace scsipub::scsi
