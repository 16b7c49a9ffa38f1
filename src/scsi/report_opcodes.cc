// SPC-4 6.35 REPORT SUPPORTED OPERATION CODES, built from the opcode table.
#include <algorithm>

#include "common/bytes.h"
#include "scsi/handlers.h"
#include "scsi/opcode_table.h"

namespace scsipub::scsi::handlers {

namespace {

constexpr size_t kTimeoutsDescriptor = 12;

// SPC-4 6.35.4 command timeouts descriptor.
void put_timeouts(uint8_t* p, const OpcodeInfo& info) {
  store_be16(p, 0x0A);
  store_be32(p + 4, info.nominal_timeout_s);
  store_be32(p + 8, info.recommended_timeout_s);
}

void all_commands(Command& cmd, bool rctd) {
  auto table = opcode_table(cmd.lu_or_null());
  const size_t each = 8 + (rctd ? kTimeoutsDescriptor : 0);
  uint8_t* p = cmd.reply(4 + each * table.size());
  store_be32(p, uint32_t(each * table.size()));
  uint8_t* d = p + 4;
  for (const auto& info : table) {
    // SPC-4 6.35.2 command descriptor.
    d[0] = info.opcode;
    store_be16(d + 2, info.has_service_action ? info.service_action : 0);
    d[5] = uint8_t((rctd ? 0x02 : 0) | (info.has_service_action ? 0x01 : 0));  // CTDP, SERVACTV
    store_be16(d + 6, info.cdb_length);
    if (rctd) put_timeouts(d + 8, info);
    d += each;
  }
}

void one_command(Command& cmd, const OpcodeInfo* info, bool rctd) {
  // SPC-4 6.35.3: SUPPORT 001b = not supported, 011b = supported as the standard says.
  if (info == nullptr) {
    uint8_t* p = cmd.reply(4);
    p[1] = 0x01;
    return;
  }
  const size_t n = 4 + info->cdb_length + (rctd ? kTimeoutsDescriptor : 0);
  uint8_t* p = cmd.reply(n);
  p[1] = uint8_t((rctd ? 0x80 : 0) | 0x03);
  store_be16(p + 2, info->cdb_length);
  std::copy_n(info->usage.data(), info->cdb_length, p + 4);
  // SPC-4 6.35.3: byte 0 is the operation code, and the service action value
  // sits where the CDB carries it.
  p[4] = info->opcode;
  if (info->has_service_action) p[5] = uint8_t((p[5] & ~0x1F) | (info->service_action & 0x1F));
  if (rctd) put_timeouts(p + 4 + info->cdb_length, *info);
}

}  // namespace

void report_supported_opcodes(Command& cmd) {
  auto c = cmd.cdb();
  const bool rctd = c[2] & 0x80;
  const uint8_t options = c[2] & 0x07;
  const uint8_t opcode = c[3];
  const uint16_t sa = load_be16(&c[4]);
  const uint32_t allocation_length = load_be32(&c[6]);
  const bool has_sa = opcode_has_service_actions(opcode);
  const auto table = opcode_table(cmd.lu_or_null());
  auto find = [&](uint16_t service_action) { return find_opcode(table, opcode, service_action); };
  switch (options) {
    case 0:
      all_commands(cmd, rctd);
      break;
    case 1:  // opcode only: invalid for an opcode that has service actions
      if (has_sa) return cmd.invalid_cdb_field(2, 2);
      one_command(cmd, find(0), rctd);
      break;
    case 2:  // opcode + service action: invalid for an opcode without them
      if (!has_sa) return cmd.invalid_cdb_field(2, 2);
      one_command(cmd, sa > 0x1F ? nullptr : find(sa), rctd);
      break;
    case 3:  // SPC-5: service action used only if the opcode has them
      one_command(cmd, has_sa ? (sa > 0x1F ? nullptr : find(sa)) : find(0), rctd);
      break;
    default:
      return cmd.invalid_cdb_field(2, 2);
  }
  cmd.truncate(allocation_length);
}

}  // namespace scsipub::scsi::handlers
