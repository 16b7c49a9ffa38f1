#pragma once
// The hand-off from the iSCSI layer to the SCSI layer: one fully received
// command. The iSCSI layer has already collected all write data; the SCSI layer
// fills data_in and the status/sense, and never sees a PDU.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "common/buffer.h"
#include "lu/logical_unit.h"
#include "lu/nexus.h"

namespace scsipub::scsi {

namespace status {
inline constexpr uint8_t kGood = 0x00;
inline constexpr uint8_t kCheckCondition = 0x02;
inline constexpr uint8_t kConditionMet = 0x04;
inline constexpr uint8_t kBusy = 0x08;
inline constexpr uint8_t kReservationConflict = 0x18;
inline constexpr uint8_t kTaskSetFull = 0x28;
inline constexpr uint8_t kTaskAborted = 0x40;
}  // namespace status

struct ScsiTask {
  // Inputs
  std::span<const uint8_t> cdb;       // 6..16 bytes, longer with an extended-CDB AHS
  uint64_t lun = 0;                   // LUN number decoded from the 8-byte LUN field
  const lu::Nexus* nexus = nullptr;
  uint32_t expected_length = 0;       // iSCSI Expected Data Transfer Length (EDTL)
  bool read_flag = false;             // iSCSI R bit
  bool write_flag = false;            // iSCSI W bit
  std::span<const uint8_t> data_out;  // every byte of write data received (== EDTL when W)
  Buffer* data_in = nullptr;          // output buffer, provided by the caller
  // A READ's data only if it is at hand without waiting (page cache); else
  // the command stops with would_block set and its outputs meaningless, and
  // the caller runs it again without the flag where waiting is allowed.
  bool no_wait = false;
  // The caller runs a READ's or WRITE's storage verb itself, asynchronously
  // (CommandSet::waits said Wait::deferred): execute() checks the command and
  // leaves the verb in `deferred`; CommandSet::complete_deferred() ends it.
  bool defer_io = false;

  // Outputs
  uint8_t status = status::kGood;
  std::array<uint8_t, 96> sense{};
  uint8_t sense_length = 0;
  // data_in->size(): how much the command produced for the initiator (may exceed
  // EDTL; the iSCSI layer truncates and reports the overflow residual).
  // write_transfer_length: bytes the CDB asks to write (SPDTL), for residuals.
  uint32_t write_transfer_length = 0;
  bool would_block = false;  // no_wait and the data was not at hand
  // The storage verb left to the caller (kind none: the command has ended).
  struct DeferredIo {
    enum class Kind : uint8_t { none, read, write } kind = Kind::none;
    uint64_t lba = 0;
    std::span<uint8_t> read_into;         // in data_in, sized to the blocks
    std::span<const uint8_t> write_from;  // in data_out
    bool flush_after = false;             // FUA, or the write cache off
  } deferred;
};

}  // namespace scsipub::scsi
