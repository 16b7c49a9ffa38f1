#pragma once
// The SCSI traffic of a minimal initiator (RFC 7143 11.3, 11.7): READ(10) and
// WRITE(10) commands on LUN 0 (SBC-3 5.11, 5.32) with optional immediate
// data, the Data-Out PDUs answering an R2T, and the sense key of a CHECK
// CONDITION. No digests.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace scsipub::bench {

struct BlockCommand {
  bool write = false;
  uint32_t lba = 0;
  uint16_t sectors = 0;
  uint32_t sector_bytes = 512;
  uint32_t itt = 0;
  uint32_t cmd_sn = 0;
  uint32_t exp_stat_sn = 0;
};

// The SCSI Command PDU, F=1, simple task attribute; `immediate` rides in its
// data segment (empty for reads and for writes without ImmediateData).
void append_block_command(std::vector<uint8_t>& out, const BlockCommand& c, std::span<const uint8_t> immediate);

// Data-Out PDUs carrying `data` (the part of the buffer an R2T asked for,
// starting at `buffer_offset`), at most `max_segment` bytes each, DataSN from
// 0 within this R2T's sequence, F on the last (RFC 7143 11.7.1, 11.7.5).
void append_data_out(std::vector<uint8_t>& out, uint32_t itt, uint32_t ttt, uint32_t exp_stat_sn,
                     uint32_t buffer_offset, std::span<const uint8_t> data, uint32_t max_segment);

inline constexpr uint8_t kStatusGood = 0x00;
inline constexpr uint8_t kStatusCheckCondition = 0x02;
inline constexpr uint8_t kSenseUnitAttention = 0x6;

// The sense key of the sense data in a SCSI Response's data segment
// (SenseLength, then fixed or descriptor format sense, SPC-4 4.5); nothing
// when the segment holds none.
std::optional<uint8_t> sense_key(std::span<const uint8_t> response_data);

}  // namespace scsipub::bench
