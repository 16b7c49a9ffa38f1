// SBC-3 5.4 GET LBA STATUS.
#include <algorithm>

#include "common/bytes.h"
#include "scsi/handlers.h"

namespace scsipub::scsi::handlers {

namespace {
constexpr size_t kMaxDescriptors = 64;
}

void get_lba_status(Command& cmd) {
  auto c = cmd.cdb();
  const uint64_t start = load_be64(&c[2]);
  const uint32_t allocation_length = load_be32(&c[10]);
  const uint64_t cap = cmd.store().block_count();
  // SBC-3 5.4: STARTING LOGICAL BLOCK ADDRESS beyond the last LBA.
  if (start >= cap) {
    cmd.fail(SenseReason::lba_out_of_range);
    return;
  }
  // SBC-3 5.4.2: descriptors from the starting LBA onward, as many as the
  // allocation length holds (bounded), each run of one provisioning state.
  size_t wanted = allocation_length <= 8 ? 1 : (allocation_length - 8 + 15) / 16;
  wanted = std::clamp<size_t>(wanted, 1, kMaxDescriptors);
  uint8_t* p = cmd.reply(8 + 16 * wanted);
  size_t n = 0;
  uint64_t lba = start;
  while (n < wanted && lba < cap) {
    storage::LbaRun run = cmd.store().lba_status(lba);
    uint64_t blocks = std::min<uint64_t>(run.blocks, cap - lba);
    if (blocks == 0) break;
    blocks = std::min<uint64_t>(blocks, 0xFFFFFFFFu);
    uint8_t* d = p + 8 + 16 * n;
    store_be64(d, lba);
    store_be32(d + 8, uint32_t(blocks));
    d[12] = run.mapped ? 0x00 : 0x01;  // PROVISIONING STATUS: mapped / deallocated
    lba += blocks;
    ++n;
  }
  cmd.out().resize(8 + 16 * n);
  store_be32(p, uint32_t(4 + 16 * n));  // PARAMETER DATA LENGTH
  cmd.truncate(allocation_length);
}

}  // namespace scsipub::scsi::handlers
