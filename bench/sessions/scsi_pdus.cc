#include "sessions/scsi_pdus.h"

#include <algorithm>

#include "iscsi/pdu.h"
#include "sessions/login_pdus.h"

namespace scsipub::bench {

void append_block_command(std::vector<uint8_t>& out, const BlockCommand& c, std::span<const uint8_t> immediate) {
  iscsi::ScsiCommandHeader h;
  h.set_final(true);
  h.set_read(!c.write);
  h.set_write(c.write);
  h.set_attribute(iscsi::TaskAttribute::simple);
  h.set_lun_raw(0);
  h.set_itt(c.itt);
  h.set_expected_data_transfer_length(uint32_t(c.sectors) * c.sector_bytes);
  h.set_cmd_sn(c.cmd_sn);
  h.set_exp_stat_sn(c.exp_stat_sn);
  auto cdb = h.cdb();
  cdb[0] = c.write ? 0x2a : 0x28;  // WRITE(10) / READ(10)
  cdb[2] = uint8_t(c.lba >> 24);
  cdb[3] = uint8_t(c.lba >> 16);
  cdb[4] = uint8_t(c.lba >> 8);
  cdb[5] = uint8_t(c.lba);
  cdb[7] = uint8_t(c.sectors >> 8);
  cdb[8] = uint8_t(c.sectors);
  h.set_data_segment_length(uint32_t(immediate.size()));
  append_pdu(out, h, immediate);
}

void append_data_out(std::vector<uint8_t>& out, uint32_t itt, uint32_t ttt, uint32_t exp_stat_sn,
                     uint32_t buffer_offset, std::span<const uint8_t> data, uint32_t max_segment) {
  const size_t step = std::max<uint32_t>(max_segment, 512);
  uint32_t data_sn = 0;
  for (size_t at = 0; at < data.size(); at += step) {
    const size_t n = std::min(step, data.size() - at);
    iscsi::DataOutHeader h;
    h.set_final(at + n == data.size());
    h.set_lun_raw(0);
    h.set_itt(itt);
    h.set_ttt(ttt);
    h.set_exp_stat_sn(exp_stat_sn);
    h.set_data_sn(data_sn++);
    h.set_buffer_offset(buffer_offset + uint32_t(at));
    h.set_data_segment_length(uint32_t(n));
    append_pdu(out, h, data.subspan(at, n));
  }
}

std::optional<uint8_t> sense_key(std::span<const uint8_t> response_data) {
  if (response_data.size() < 2) return std::nullopt;
  const size_t length = (size_t(response_data[0]) << 8) | response_data[1];
  auto sense = response_data.subspan(2, std::min(length, response_data.size() - 2));
  if (sense.size() < 3) return std::nullopt;
  const uint8_t code = sense[0] & 0x7f;
  if (code == 0x70 || code == 0x71) return uint8_t(sense[2] & 0x0f);
  if (code == 0x72 || code == 0x73) return uint8_t(sense[1] & 0x0f);
  return std::nullopt;
}

}  // namespace scsipub::bench
