// SPC-4 6.9 MODE SELECT (6) and 6.10 MODE SELECT (10).
#include <algorithm>

#include "common/bytes.h"
#include "scsi/handlers.h"
#include "scsi/mode_pages.h"

namespace scsipub::scsi::handlers {

namespace {

void mode_select(Command& cmd, bool ten) {
  auto c = cmd.cdb();
  const uint16_t list_length = ten ? load_be16(&c[7]) : c[4];
  cmd.set_write_transfer_length(list_length);
  // SPC-4 6.9: we only understand page format (PF = 1) and save nothing (SP = 0).
  if ((c[1] & 0x10) == 0) {
    cmd.invalid_cdb_field(1, 4);
    return;
  }
  if (c[1] & 0x01) {
    cmd.invalid_cdb_field(1, 0);
    return;
  }
  if (list_length == 0) return;
  auto data = cmd.data_out().first(std::min<size_t>(list_length, cmd.data_out().size()));
  const size_t header = ten ? 8 : 4;
  if (data.size() < list_length || data.size() < header) {
    cmd.fail(SenseReason::parameter_list_length_error);
    return;
  }
  // SPC-4 7.5.4: MEDIUM TYPE 00h for direct access; the MODE DATA LENGTH and
  // device-specific parameter are reserved/ignored in MODE SELECT.
  const uint8_t medium_type = ten ? data[2] : data[1];
  if (medium_type != 0) {
    cmd.invalid_param_field(ten ? 2 : 1);
    return;
  }
  const bool longlba = ten && (data[4] & 0x01);
  const size_t bd_length = ten ? load_be16(&data[6]) : data[3];
  const size_t bd_expected = longlba ? 16 : 8;
  if (bd_length != 0 && bd_length != bd_expected) {
    cmd.invalid_param_field(ten ? 6 : 3);
    return;
  }
  if (header + bd_length > data.size()) {
    cmd.fail(SenseReason::parameter_list_length_error);
    return;
  }
  if (bd_length != 0) {
    // SBC-3 6.4.2: only our LOGICAL BLOCK LENGTH can be selected.
    const uint8_t* bd = &data[header];
    const uint32_t block_length = bd_length == 16 ? load_be32(bd + 12) : load_be24(bd + 5);
    if (block_length != storage::kBlockSize) {
      cmd.invalid_param_field(uint16_t(header + (bd_length == 16 ? 12 : 5)));
      return;
    }
  }

  const lu::ModeParameters current = cmd.lu().mode_parameters();
  lu::ModeParameters updated = current;
  size_t off = header + bd_length;
  while (off < data.size()) {
    const uint8_t code = data[off] & 0x3F;  // PS is reserved in MODE SELECT
    if (data[off] & 0x40) {                 // SPF: we have no subpages
      cmd.invalid_param_field(uint16_t(off), 6);
      return;
    }
    if (off + 2 > data.size() || off + 2 + data[off + 1] > data.size()) {
      cmd.fail(SenseReason::parameter_list_length_error);
      return;
    }
    const size_t length = size_t{2} + data[off + 1];
    auto now = mode_page(code, PageControl::current, current);
    auto changeable = mode_page(code, PageControl::changeable, current);
    if (!now || !changeable) {
      cmd.invalid_param_field(uint16_t(off), 5);
      return;
    }
    // SPC-4 7.5.3: the PAGE LENGTH must be ours.
    if (length != now->length) {
      cmd.invalid_param_field(uint16_t(off + 1));
      return;
    }
    // SPC-4 6.9: a value that differs in a field that is not changeable is an
    // invalid field in the parameter list.
    ModePage page = *now;
    for (size_t i = 2; i < length; ++i) {
      uint8_t diff = uint8_t((data[off + i] ^ now->bytes[i]) & ~changeable->bytes[i]);
      if (diff != 0) {
        int8_t bit = 7;
        while (bit > 0 && (diff & (1u << bit)) == 0) --bit;
        cmd.invalid_param_field(uint16_t(off + i), bit);
        return;
      }
      page.bytes[i] = data[off + i];
    }
    apply_mode_page(page, updated);
    off += length;
  }
  std::optional<uint64_t> by;
  if (cmd.task().nexus != nullptr) by = cmd.task().nexus->id;
  cmd.lu().set_mode_parameters(updated, by);
}

}  // namespace

void mode_select6(Command& cmd) { mode_select(cmd, false); }
void mode_select10(Command& cmd) { mode_select(cmd, true); }

}  // namespace scsipub::scsi::handlers
