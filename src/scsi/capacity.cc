// SBC-3 5.15 READ CAPACITY (10) and 5.16 READ CAPACITY (16).
#include "common/bytes.h"
#include "scsi/handlers.h"
#include "storage/block_store.h"

namespace scsipub::scsi::handlers {

void read_capacity10(Command& cmd) {
  auto cdb = cmd.cdb();
  // SBC-3 5.15: LOGICAL BLOCK ADDRESS must be zero when PMI is zero.
  if ((cdb[8] & 0x01) == 0 && load_be32(&cdb[2]) != 0) {
    cmd.invalid_cdb_field(2);
    return;
  }
  const uint64_t blocks = cmd.store().block_count();
  const uint64_t last = blocks == 0 ? 0 : blocks - 1;
  uint8_t* p = cmd.reply(8);
  // Too large for 32 bits: FFFFFFFFh tells the initiator to use READ CAPACITY (16).
  store_be32(p, last > 0xFFFFFFFEu ? 0xFFFFFFFFu : uint32_t(last));
  store_be32(p + 4, storage::kBlockSize);
}

void read_capacity16(Command& cmd) {
  auto cdb = cmd.cdb();
  if ((cdb[14] & 0x01) == 0 && load_be64(&cdb[2]) != 0) {
    cmd.invalid_cdb_field(2);
    return;
  }
  const uint32_t allocation_length = load_be32(&cdb[10]);
  const uint64_t blocks = cmd.store().block_count();
  uint8_t* p = cmd.reply(32);
  store_be64(p, blocks == 0 ? 0 : blocks - 1);
  store_be32(p + 8, storage::kBlockSize);
  // p[12]: no protection information; p[13]: one logical block per physical block.
  if (cmd.store().thin_provisioned()) p[14] = 0x80 | 0x40;  // LBPME, LBPRZ
  cmd.truncate(allocation_length);
}

}  // namespace scsipub::scsi::handlers
