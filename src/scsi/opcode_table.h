#pragma once
// The opcode table: one row per supported command (and service action), with
// its handler, CDB length, data direction, reservation class, flags and CDB
// usage data. The usage bitmap is both what REPORT SUPPORTED OPERATION CODES
// returns (SPC-4 6.35.3) and the mask the dispatcher checks every CDB
// against: a bit set in the CDB that is clear in the mask is a reserved or
// unsupported field -> INVALID FIELD IN CDB with a field pointer. The
// reservation class is all the dispatcher knows about reservations: it is
// what LuExtension::conflicts is asked with.
#include <array>
#include <cstdint>
#include <span>

#include "lu/logical_unit.h"
#include "lu/reservation_access.h"

namespace scsipub::scsi {

class Command;

// What the CDB moves (SPC-4 6.35.3 does not carry it; we do, to check the
// iSCSI R/W bits against it: see transfer_contradicts_cdb).
enum class DataDirection : uint8_t { none, in, out };

namespace opflag {
inline constexpr uint8_t kAllowedWithUa = 0x01;      // SAM-5 5.14: INQUIRY, REPORT LUNS, REQUEST SENSE
inline constexpr uint8_t kNoLogicalUnit = 0x02;      // runs when the addressed LUN does not exist
inline constexpr uint8_t kNeedsMedium = 0x04;  // NOT READY, MEDIUM NOT PRESENT while ejected (MMC-6)
// Runs for every I_T nexus while another holds a SCSI-2 reservation (SPC-2
// 7.21), when its reservation class resolves to "allowed" for the CDB.
inline constexpr uint8_t kAllowedUnderReserve = 0x08;
}  // namespace opflag

// A row's reservation class: how a reservation another I_T nexus holds treats
// the command (SPC-4 5.9.1 table 62, SBC-3 4.17 table 13, SPC-2 7.21). Most
// rows have a fixed class; two are decided by their CDB. reservation_access()
// resolves a row and a CDB into what LuExtension::conflicts takes.
enum class ReservationClass : uint8_t {
  allowed,  // never a conflict under a persistent reservation
  read,     // like a read: allowed under the Write Exclusive types
  write,    // like a write: a conflict for every non-holder
  // SBC-3 table 13: START = 1 with POWER CONDITION 0h is allowed, else a write.
  start_stop_unit,
  // SPC-4 table 62: PREVENT = 0 (allowing removal) is allowed, else a write.
  prevent_allow_medium_removal,
  // SPC-4 table 62: allowed; SPC-4 6.15.1: a conflict for everyone under RESERVE.
  persistent_reserve_in,
  // SPC-4 5.9: the service actions check keys themselves; SPC-4 6.16.1: a
  // conflict for everyone under RESERVE.
  persistent_reserve_out,
  // RESERVE / RELEASE: SPC-2 7.21, 7.24 and SPC-4 5.9.3 decide in the command.
  reserve_release,
};

// Short names for the rows of the tables.
namespace row_class {
inline constexpr ReservationClass kAllowed = ReservationClass::allowed;
inline constexpr ReservationClass kRead = ReservationClass::read;
inline constexpr ReservationClass kWrite = ReservationClass::write;
inline constexpr ReservationClass kStartStop = ReservationClass::start_stop_unit;
inline constexpr ReservationClass kPreventAllow = ReservationClass::prevent_allow_medium_removal;
inline constexpr ReservationClass kPrIn = ReservationClass::persistent_reserve_in;
inline constexpr ReservationClass kPrOut = ReservationClass::persistent_reserve_out;
inline constexpr ReservationClass kReserveRelease = ReservationClass::reserve_release;
}  // namespace row_class

struct OpcodeInfo {
  uint8_t opcode = 0;
  bool has_service_action = false;
  uint16_t service_action = 0;
  uint8_t cdb_length = 0;
  DataDirection direction = DataDirection::none;
  ReservationClass reservation = ReservationClass::write;
  uint8_t flags = 0;
  void (*handler)(Command&) = nullptr;
  std::array<uint8_t, 16> usage{};  // CDB usage data, cdb_length bytes meaningful
  uint32_t nominal_timeout_s = 0;   // for the RCTD timeouts descriptor
  uint32_t recommended_timeout_s = 0;
};

// The row's reservation class resolved for this CDB (at least cdb_length
// bytes, as the dispatcher guarantees).
lu::ReservationAccess reservation_access(const OpcodeInfo& row, std::span<const uint8_t> cdb);

// Does the iSCSI W bit (RFC 7143 11.3.1) contradict the data direction of the
// row, with this Expected Data Transfer Length? The rule, and why it is that
// narrow: opcode_table.cc.
bool transfer_contradicts_cdb(DataDirection direction, bool write_flag, uint32_t expected_length);

// The direct-access (SBC-3) table.
std::span<const OpcodeInfo> opcode_table();

// Service action of a CDB for an opcode that has service actions (byte 1, bits 4:0).
bool opcode_has_service_actions(uint8_t opcode);
const OpcodeInfo* find_opcode(uint8_t opcode, uint16_t service_action);

// The CD/DVD (MMC-6) table, in mmc_opcode_table.cc.
std::span<const OpcodeInfo> mmc_opcode_table();

// The tables a CommandSet dispatches with, one per peripheral device type.
// The standard ones are the default; tests substitute their own.
struct OpcodeTables {
  std::span<const OpcodeInfo> direct_access = opcode_table();
  std::span<const OpcodeInfo> cd_dvd = mmc_opcode_table();
  // The table for an LU's peripheral device type; a missing LU (nullptr)
  // uses the direct-access table (only its INQUIRY, REPORT LUNS and REQUEST
  // SENSE run).
  std::span<const OpcodeInfo> for_lu(const lu::LogicalUnit* lu) const;
};

// The standard table of an LU's peripheral device type (OpcodeTables{}.for_lu).
std::span<const OpcodeInfo> opcode_table(const lu::LogicalUnit* lu);
const OpcodeInfo* find_opcode(std::span<const OpcodeInfo> table, uint8_t opcode, uint16_t service_action);

}  // namespace scsipub::scsi
