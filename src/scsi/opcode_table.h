#pragma once
// The opcode table: one row per supported command (and service action), with
// its handler, CDB length, data direction, flags and CDB usage data. The usage
// bitmap is both what REPORT SUPPORTED OPERATION CODES returns (SPC-4 6.35.3)
// and the mask the dispatcher checks every CDB against: a bit set in the CDB
// that is clear in the mask is a reserved or unsupported field -> INVALID
// FIELD IN CDB with a field pointer.
#include <array>
#include <cstdint>
#include <span>

#include "lu/logical_unit.h"

namespace scsipub::scsi {

class Command;

enum class DataDirection : uint8_t { none, in, out };

namespace opflag {
inline constexpr uint8_t kAllowedWithUa = 0x01;      // SAM-5 5.14: INQUIRY, REPORT LUNS, REQUEST SENSE
inline constexpr uint8_t kNoLogicalUnit = 0x02;      // runs when the addressed LUN does not exist
inline constexpr uint8_t kWritesMedium = 0x04;       // write-protect applies
inline constexpr uint8_t kConflictsWithReservation = 0x08;  // for the PR engine (SPC-4 5.12.1)
inline constexpr uint8_t kNeedsMedium = 0x10;  // NOT READY, MEDIUM NOT PRESENT while ejected (MMC-6)
}  // namespace opflag

struct OpcodeInfo {
  uint8_t opcode = 0;
  bool has_service_action = false;
  uint16_t service_action = 0;
  uint8_t cdb_length = 0;
  DataDirection direction = DataDirection::none;
  uint8_t flags = 0;
  void (*handler)(Command&) = nullptr;
  std::array<uint8_t, 16> usage{};  // CDB usage data, cdb_length bytes meaningful
  uint32_t nominal_timeout_s = 0;   // for the RCTD timeouts descriptor
  uint32_t recommended_timeout_s = 0;
};

// The direct-access (SBC-3) table.
std::span<const OpcodeInfo> opcode_table();

// Service action of a CDB for an opcode that has service actions (byte 1, bits 4:0).
bool opcode_has_service_actions(uint8_t opcode);
const OpcodeInfo* find_opcode(uint8_t opcode, uint16_t service_action);

// The CD/DVD (MMC-6) table, in mmc_opcode_table.cc.
std::span<const OpcodeInfo> mmc_opcode_table();

// The table of a peripheral device type; a missing LU (nullptr) uses the
// direct-access table (only its INQUIRY, REPORT LUNS and REQUEST SENSE run).
std::span<const OpcodeInfo> opcode_table(const lu::LogicalUnit* lu);
const OpcodeInfo* find_opcode(std::span<const OpcodeInfo> table, uint8_t opcode, uint16_t service_action);

}  // namespace scsipub::scsi
