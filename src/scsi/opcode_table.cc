#include "scsi/opcode_table.h"

#include <iterator>

#include "scsi/handlers.h"

namespace scsipub::scsi {

namespace {

using DD = DataDirection;
namespace h = handlers;
constexpr uint8_t kUa = opflag::kAllowedWithUa;
constexpr uint8_t kNoLu = opflag::kNoLogicalUnit;
constexpr uint8_t kRsv = opflag::kAllowedUnderReserve;
using namespace row_class;  // NOLINT(google-build-using-namespace): row shorthand

// CDB usage bitmaps: SPC-4 6.35.3. Byte 0 is the opcode; for commands with a
// service action byte 1 bits 4:0 are the SA. Protection fields (RDPROTECT,
// WRPROTECT, VRPROTECT, ORPROTECT), ANCHOR, NACA and LINK are left out: we
// support none of them, so a CDB setting them is rejected.
// Timeouts in seconds for the RCTD descriptor (nominal, recommended).
// Reservation classes: SPC-4 5.9.1 table 62 for the SPC commands, SBC-3 4.17
// table 13 for the block commands; kRsv marks what SPC-2 7.21 leaves to other
// I_T nexuses under RESERVE. tests/scsi/reservation_class_test.cc holds every
// row to those tables.
constexpr OpcodeInfo kTable[] = {
    // SPC-4 6.37 TEST UNIT READY
    {0x00, false, 0, 6, DD::none, kAllowed, 0, h::test_unit_ready, {0xFF, 0, 0, 0, 0, 0}, 1, 5},
    // SPC-4 6.39 REQUEST SENSE
    {0x03, false, 0, 6, DD::in, kAllowed, kUa | kNoLu | kRsv, h::request_sense, {0xFF, 0x01, 0, 0, 0xFF, 0}, 1, 5},
    // SBC-3 5.13 READ (6)
    {0x08, false, 0, 6, DD::in, kRead, 0, h::read6, {0xFF, 0x1F, 0xFF, 0xFF, 0xFF, 0}, 5, 30},
    // SBC-3 5.39 WRITE (6)
    {0x0A, false, 0, 6, DD::out, kWrite, 0, h::write6, {0xFF, 0x1F, 0xFF, 0xFF, 0xFF, 0}, 5, 30},
    // SPC-4 6.6 INQUIRY
    {0x12, false, 0, 6, DD::in, kAllowed, kUa | kNoLu | kRsv, h::inquiry, {0xFF, 0x01, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    // SPC-4 6.9 MODE SELECT (6)
    {0x15, false, 0, 6, DD::out, kWrite, 0, h::mode_select6, {0xFF, 0x11, 0, 0, 0xFF, 0}, 1, 5},
    // SPC-2 7.21 RESERVE (6), SPC-2 7.24 RELEASE (6): no third-party or extent reservations
    {0x16, false, 0, 6, DD::none, kReserveRelease, 0, h::reserve, {0xFF, 0, 0, 0, 0, 0}, 1, 5},
    {0x17, false, 0, 6, DD::none, kReserveRelease, 0, h::release, {0xFF, 0, 0, 0, 0, 0}, 1, 5},
    // SPC-4 6.11 MODE SENSE (6)
    {0x1A, false, 0, 6, DD::in, kRead, 0, h::mode_sense6, {0xFF, 0x08, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    // SBC-3 5.25 START STOP UNIT
    {0x1B, false, 0, 6, DD::none, kStartStop, kRsv, h::start_stop_unit, {0xFF, 0x01, 0, 0x0F, 0xF7, 0}, 1, 5},
    // SPC-4 6.13 PREVENT ALLOW MEDIUM REMOVAL
    {0x1E, false, 0, 6, DD::none, kPreventAllow, kRsv, h::prevent_allow_medium_removal, {0xFF, 0, 0, 0, 0x03, 0}, 1, 5},
    // SBC-3 5.16 READ CAPACITY (10)
    {0x25, false, 0, 10, DD::in, kAllowed, kRsv, h::read_capacity10, {0xFF, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0x01, 0}, 1, 5},
    // SBC-3 5.8 READ (10)
    {0x28, false, 0, 10, DD::in, kRead, 0, h::read10,
     {0xFF, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0}, 5, 30},
    // SBC-3 5.32 WRITE (10)
    {0x2A, false, 0, 10, DD::out, kWrite, 0, h::write10,
     {0xFF, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0}, 5, 30},
    // SBC-3 5.35 WRITE AND VERIFY (10)
    {0x2E, false, 0, 10, DD::out, kWrite, 0, h::write_verify10,
     {0xFF, 0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0}, 5, 30},
    // SBC-3 5.29 VERIFY (10)
    {0x2F, false, 0, 10, DD::out, kRead, 0, h::verify10,
     {0xFF, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0}, 5, 30},
    // SBC-3 5.6 PRE-FETCH (10)
    {0x34, false, 0, 10, DD::none, kRead, 0, h::prefetch10,
     {0xFF, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0}, 1, 5},
    // SBC-3 5.26 SYNCHRONIZE CACHE (10)
    {0x35, false, 0, 10, DD::none, kWrite, 0, h::synchronize_cache10,
     {0xFF, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0}, 30, 60},
    // SBC-3 5.19 READ DEFECT DATA (10)
    {0x37, false, 0, 10, DD::in, kRead, 0, h::read_defect_data10,
     {0xFF, 0, 0x1F, 0, 0, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    // SBC-3 5.42 WRITE SAME (10)
    {0x41, false, 0, 10, DD::out, kWrite, 0, h::write_same10,
     {0xFF, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0}, 30, 60},
    // SBC-3 5.28 UNMAP
    {0x42, false, 0, 10, DD::out, kWrite, 0, h::unmap, {0xFF, 0, 0, 0, 0, 0, 0x1F, 0xFF, 0xFF, 0}, 30, 60},
    // SPC-4 6.10 MODE SELECT (10)
    {0x55, false, 0, 10, DD::out, kWrite, 0, h::mode_select10, {0xFF, 0x11, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    // SPC-2 7.22 RESERVE (10), 7.25 RELEASE (10): no third-party reservations
    {0x56, false, 0, 10, DD::out, kReserveRelease, 0, h::reserve, {0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    {0x57, false, 0, 10, DD::out, kReserveRelease, 0, h::release, {0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    // SPC-4 6.12 MODE SENSE (10)
    {0x5A, false, 0, 10, DD::in, kRead, 0, h::mode_sense10, {0xFF, 0x18, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    // SPC-4 6.15 PERSISTENT RESERVE IN: READ KEYS, READ RESERVATION, REPORT CAPABILITIES, READ FULL STATUS
    {0x5E, true, 0x00, 10, DD::in, kPrIn, 0, h::persistent_reserve_in, {0xFF, 0x1F, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    {0x5E, true, 0x01, 10, DD::in, kPrIn, 0, h::persistent_reserve_in, {0xFF, 0x1F, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    {0x5E, true, 0x02, 10, DD::in, kPrIn, 0, h::persistent_reserve_in, {0xFF, 0x1F, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    {0x5E, true, 0x03, 10, DD::in, kPrIn, 0, h::persistent_reserve_in, {0xFF, 0x1F, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    // SPC-4 6.16 PERSISTENT RESERVE OUT: REGISTER .. REGISTER AND MOVE
    {0x5F, true, 0x00, 10, DD::out, kPrOut, 0, h::persistent_reserve_out,
     {0xFF, 0x1F, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    {0x5F, true, 0x01, 10, DD::out, kPrOut, 0, h::persistent_reserve_out,
     {0xFF, 0x1F, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    {0x5F, true, 0x02, 10, DD::out, kPrOut, 0, h::persistent_reserve_out,
     {0xFF, 0x1F, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    {0x5F, true, 0x03, 10, DD::out, kPrOut, 0, h::persistent_reserve_out,
     {0xFF, 0x1F, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    {0x5F, true, 0x04, 10, DD::out, kPrOut, 0, h::persistent_reserve_out,
     {0xFF, 0x1F, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    {0x5F, true, 0x05, 10, DD::out, kPrOut, 0, h::persistent_reserve_out,
     {0xFF, 0x1F, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    {0x5F, true, 0x06, 10, DD::out, kPrOut, 0, h::persistent_reserve_out,
     {0xFF, 0x1F, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    {0x5F, true, 0x07, 10, DD::out, kPrOut, 0, h::persistent_reserve_out,
     {0xFF, 0x1F, 0xFF, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    // SBC-3 5.9 READ (16)
    {0x88, false, 0, 16, DD::in, kRead, 0, h::read16,
     {0xFF, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 5, 30},
    // SBC-3 5.2 COMPARE AND WRITE
    {0x89, false, 0, 16, DD::out, kWrite, 0, h::compare_and_write,
     {0xFF, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0x1F, 0}, 5, 30},
    // SBC-3 5.33 WRITE (16)
    {0x8A, false, 0, 16, DD::out, kWrite, 0, h::write16,
     {0xFF, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 5, 30},
    // SBC-3 5.5 ORWRITE (16)
    {0x8B, false, 0, 16, DD::out, kWrite, 0, h::orwrite16,
     {0xFF, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 5, 30},
    // SBC-3 5.37 WRITE AND VERIFY (16)
    {0x8E, false, 0, 16, DD::out, kWrite, 0, h::write_verify16,
     {0xFF, 0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 5, 30},
    // SBC-3 5.31 VERIFY (16)
    {0x8F, false, 0, 16, DD::out, kRead, 0, h::verify16,
     {0xFF, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 5, 30},
    // SBC-3 5.7 PRE-FETCH (16)
    {0x90, false, 0, 16, DD::none, kRead, 0, h::prefetch16,
     {0xFF, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 1, 5},
    // SBC-3 5.27 SYNCHRONIZE CACHE (16)
    {0x91, false, 0, 16, DD::none, kWrite, 0, h::synchronize_cache16,
     {0xFF, 0x06, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 30, 60},
    // SBC-3 5.43 WRITE SAME (16)
    {0x93, false, 0, 16, DD::out, kWrite, 0, h::write_same16,
     {0xFF, 0x09, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 30, 60},
    // SBC-3 5.16 READ CAPACITY (16): SERVICE ACTION IN (16), SA 10h
    {0x9E, true, 0x10, 16, DD::in, kAllowed, kRsv, h::read_capacity16,
     {0xFF, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0}, 1, 5},
    // SBC-3 5.4 GET LBA STATUS: SERVICE ACTION IN (16), SA 12h
    {0x9E, true, 0x12, 16, DD::in, kRead, 0, h::get_lba_status,
     {0xFF, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0}, 1, 5},
    // SPC-4 6.33 REPORT LUNS
    {0xA0, false, 0, 12, DD::in, kAllowed, kUa | kNoLu | kRsv, h::report_luns,
     {0xFF, 0, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0}, 1, 5},
    // SPC-4 6.35 REPORT SUPPORTED OPERATION CODES: MAINTENANCE IN, SA 0Ch
    {0xA3, true, 0x0C, 12, DD::in, kRead, 0, h::report_supported_opcodes,
     {0xFF, 0x1F, 0x87, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0}, 1, 5},
    // SBC-3 5.10 READ (12)
    {0xA8, false, 0, 12, DD::in, kRead, 0, h::read12,
     {0xFF, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 5, 30},
    // SBC-3 5.34 WRITE (12)
    {0xAA, false, 0, 12, DD::out, kWrite, 0, h::write12,
     {0xFF, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 5, 30},
    // SBC-3 5.36 WRITE AND VERIFY (12)
    {0xAE, false, 0, 12, DD::out, kWrite, 0, h::write_verify12,
     {0xFF, 0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 5, 30},
    // SBC-3 5.30 VERIFY (12)
    {0xAF, false, 0, 12, DD::out, kRead, 0, h::verify12,
     {0xFF, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 5, 30},
    // SBC-3 5.20 READ DEFECT DATA (12)
    {0xB7, false, 0, 12, DD::in, kRead, 0, h::read_defect_data12,
     {0xFF, 0x1F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0}, 1, 5},
};

// Opcode -> index of its first row (kNone if unsupported), built at compile
// time so dispatch is one lookup. The table is sorted by opcode.
constexpr uint8_t kNone = 0xFF;
static_assert(std::size(kTable) < kNone);

constexpr std::array<uint8_t, 256> build_index() {
  std::array<uint8_t, 256> index{};
  for (auto& i : index) i = kNone;
  for (size_t i = std::size(kTable); i-- > 0;) index[kTable[i].opcode] = uint8_t(i);
  return index;
}
constexpr std::array<uint8_t, 256> kIndex = build_index();

constexpr bool sorted_by_opcode() {
  for (size_t i = 1; i < std::size(kTable); ++i)
    if (kTable[i - 1].opcode > kTable[i].opcode) return false;
  return true;
}
static_assert(sorted_by_opcode(), "rows of one opcode must be adjacent");

}  // namespace

std::span<const OpcodeInfo> opcode_table() { return kTable; }

bool opcode_has_service_actions(uint8_t opcode) {
  if (kIndex[opcode] != kNone) return kTable[kIndex[opcode]].has_service_action;
  // SPC-4 4.2.5.1: MAINTENANCE IN/OUT and SERVICE ACTION IN/OUT always carry one.
  return opcode == 0x9E || opcode == 0x9F || opcode == 0xA3 || opcode == 0xA4;
}

const OpcodeInfo* find_opcode(uint8_t opcode, uint16_t service_action) {
  for (size_t i = kIndex[opcode]; i < std::size(kTable) && kTable[i].opcode == opcode; ++i)
    if (!kTable[i].has_service_action || kTable[i].service_action == service_action) return &kTable[i];
  return nullptr;
}

std::span<const OpcodeInfo> OpcodeTables::for_lu(const lu::LogicalUnit* lu) const {
  if (lu != nullptr && lu->identity().device_type == lu::DeviceType::cd_dvd) return cd_dvd;
  return direct_access;
}

std::span<const OpcodeInfo> opcode_table(const lu::LogicalUnit* lu) { return OpcodeTables{}.for_lu(lu); }

lu::ReservationAccess reservation_access(const OpcodeInfo& row, std::span<const uint8_t> cdb) {
  using lu::PrAccess;
  using lu::Scsi2Access;
  const uint8_t byte4 = cdb.size() > 4 ? cdb[4] : 0;
  // A plain command: the persistent-reservation class, and under a SCSI-2
  // reservation allowed only when the row says so and the CDB made it harmless.
  auto plain = [&](PrAccess pr) {
    const bool scsi2 = (row.flags & opflag::kAllowedUnderReserve) != 0 && pr == PrAccess::allowed;
    return lu::ReservationAccess{pr, scsi2 ? Scsi2Access::allowed : Scsi2Access::holder_only};
  };
  switch (row.reservation) {
    case ReservationClass::allowed:
      return plain(PrAccess::allowed);
    case ReservationClass::read:
      return plain(PrAccess::read);
    case ReservationClass::write:
      return plain(PrAccess::write);
    case ReservationClass::start_stop_unit: {
      // SBC-3 5.25: START is byte 4 bit 0, POWER CONDITION byte 4 bits 7:4.
      const bool start_only = (byte4 & 0x01) != 0 && (byte4 >> 4) == 0;
      return plain(start_only ? PrAccess::allowed : PrAccess::write);
    }
    case ReservationClass::prevent_allow_medium_removal:
      // SPC-4 6.13: PREVENT is byte 4 bits 1:0.
      return plain((byte4 & 0x03) == 0 ? PrAccess::allowed : PrAccess::write);
    case ReservationClass::persistent_reserve_in:
      return {PrAccess::allowed, Scsi2Access::nobody};
    case ReservationClass::persistent_reserve_out:
      return {PrAccess::own_rules, Scsi2Access::nobody};
    case ReservationClass::reserve_release:
      return {PrAccess::own_rules, Scsi2Access::own_rules};
  }
  return plain(PrAccess::write);
}

// RFC 7143 11.3.1: R says the initiator expects Data-In, W that it sends
// Data-Out, EDTL how much; "either or both of R and W MAY be 1 when the
// Expected Data Transfer Length ... [is] 0", and when data moves its
// direction is given by R and/or W. So:
//  - EDTL 0: never a contradiction, whatever the bits (a READ of 0 blocks, a
//    MODE SELECT with parameter list length 0, a write with no data).
//  - A Data-Out command (row direction out) with EDTL > 0 but no W bit: the
//    initiator announced a transfer the command cannot take part in, and sent
//    nothing for it. Rejected with CHECK CONDITION, INVALID FIELD IN
//    INFORMATION UNIT (SPC-4 table D.2, 0Eh/03h: a field of the command IU,
//    here its flags, is invalid; the answer the block handlers already give
//    a write whose Data-Out does not match its CDB), after the CDB checks
//    and before the command runs or a reservation is asked.
//  - A Data-In or no-data command with W = 1: not rejected. The iSCSI layer
//    has taken the Data-Out anyway; the command runs, its Data-In (if any)
//    has no buffer (R = 0: a Data-In buffer of 0 bytes), and the residual
//    tells the initiator what moved. libiscsi's iSCSIResiduals.Read10Invalid
//    ("READ10 ... flag it as a write on the iSCSI layer") expects GOOD here,
//    as from LIO.
//  - A Data-In or no-data command with R and EDTL > 0: nothing to reject; a
//    Data-In shorter than EDTL is an underflow (RFC 7143 11.4.5.1).
bool transfer_contradicts_cdb(DataDirection direction, bool write_flag, uint32_t expected_length) {
  return expected_length != 0 && direction == DataDirection::out && !write_flag;
}

const OpcodeInfo* find_opcode(std::span<const OpcodeInfo> table, uint8_t opcode, uint16_t service_action) {
  if (table.data() == kTable) return find_opcode(opcode, service_action);
  // Small tables (MMC: two dozen rows) are scanned.
  for (const auto& row : table)
    if (row.opcode == opcode && (!row.has_service_action || row.service_action == service_action)) return &row;
  return nullptr;
}

}  // namespace scsipub::scsi
