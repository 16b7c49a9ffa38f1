#pragma once
// Shared pieces of the block data commands (READ, WRITE, VERIFY, ...).
#include <cstdint>

#include "scsi/command.h"

namespace scsipub::scsi {

struct BlockRange {
  uint64_t lba = 0;
  uint64_t blocks = 0;
};

// Decoded LBA / TRANSFER LENGTH of the 6-, 10-, 12- and 16-byte CDB layouts.
BlockRange decode_range6(std::span<const uint8_t> cdb);
BlockRange decode_range10(std::span<const uint8_t> cdb);
BlockRange decode_range12(std::span<const uint8_t> cdb);
BlockRange decode_range16(std::span<const uint8_t> cdb);
// SBC-3 5.35: WRITE (10/12/16) FUA bit.
bool fua_bit(std::span<const uint8_t> cdb);

// SBC-3 4.5 range check, then the Block Limits MAXIMUM TRANSFER LENGTH
// (INVALID FIELD IN CDB at `length_byte`). Also records the SPDTL of a write.
bool check_transfer(Command& cmd, const BlockRange& r, uint16_t length_byte, bool writing);

// Reads r into the data-in buffer (sized exactly r.blocks blocks).
void read_blocks(Command& cmd, const BlockRange& r);
// Writes `data` (r.blocks blocks) and makes it durable when FUA is set or the
// write cache is disabled (WCE = 0).
void write_blocks(Command& cmd, const BlockRange& r, std::span<const uint8_t> data, bool fua);

// When the iSCSI EDTL and the CDB's transfer length disagree, FCP-4 9.4.2
// option a): data beyond the CDB's length is ignored, and with less data only
// the whole blocks received are written (libiscsi 1.19's Write*Residuals and
// WriteVerify*Residuals require GOOD there). A partial block cannot be
// written: INVALID FIELD IN INFORMATION UNIT. Sets write_transfer_length for
// the residual; shrinks `r` to what will be written; false when it failed.
bool fit_write_to_data_out(Command& cmd, BlockRange& r);
// Reads r into the data-in buffer used as scratch (the caller clears it).
bool read_scratch(Command& cmd, const BlockRange& r, std::span<const uint8_t>* out);

}  // namespace scsipub::scsi
