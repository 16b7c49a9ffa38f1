// SBC-3 5.28 UNMAP.
#include <algorithm>

#include "common/bytes.h"
#include "scsi/block_limits.h"
#include "scsi/handlers.h"

namespace scsipub::scsi::handlers {

void unmap(Command& cmd) {
  auto c = cmd.cdb();
  const uint16_t list_length = load_be16(&c[7]);
  cmd.set_write_transfer_length(list_length);
  // Only a thin-provisioned store deallocates (LBPU in VPD B2h).
  if (!cmd.store().thin_provisioned()) {
    cmd.fail(SenseReason::invalid_opcode);
    return;
  }
  // SBC-3 5.28: a zero PARAMETER LIST LENGTH is not an error.
  if (list_length == 0) return;
  auto data = cmd.data_out().first(std::min<size_t>(list_length, cmd.data_out().size()));
  // SBC-3 5.28: 1..7 bytes cannot hold the header.
  if (list_length < 8 || data.size() < 8) {
    cmd.fail(SenseReason::parameter_list_length_error);
    return;
  }
  const uint16_t descriptor_bytes = load_be16(&data[2]);
  // SBC-3 5.28.2: descriptors must lie within the parameter list.
  if (size_t{8} + descriptor_bytes > data.size()) {
    cmd.fail(SenseReason::parameter_list_length_error);
    return;
  }
  const size_t count = descriptor_bytes / 16;
  if (count > limits::kMaxUnmapDescriptors) {
    cmd.invalid_param_field(2);
    return;
  }
  const uint64_t cap = cmd.store().block_count();
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* d = &data[8 + 16 * i];
    const uint64_t lba = load_be64(d);
    const uint32_t blocks = load_be32(d + 8);
    // SBC-3 5.28: beyond capacity -> LBA OUT OF RANGE; above the Block Limits
    // MAXIMUM UNMAP LBA COUNT -> INVALID FIELD IN PARAMETER LIST.
    if (lba > cap || blocks > cap - lba) {
      cmd.fail(SenseReason::lba_out_of_range);
      return;
    }
    total += blocks;
    if (total > limits::kMaxUnmapLbaCount) {
      cmd.invalid_param_field(uint16_t(8 + 16 * i + 8));
      return;
    }
  }
  if (cmd.store().read_only()) {
    cmd.fail(SenseReason::write_protected);
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* d = &data[8 + 16 * i];
    const uint32_t blocks = load_be32(d + 8);
    if (blocks == 0) continue;
    storage::IoStatus st = cmd.store().unmap(load_be64(d), blocks);
    if (st != storage::IoStatus::ok) {
      cmd.fail_io(st, true);
      return;
    }
  }
}

}  // namespace scsipub::scsi::handlers
