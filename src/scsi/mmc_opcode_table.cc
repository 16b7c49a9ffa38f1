// The CD/DVD (MMC-6) opcode table, for logical units of peripheral device
// type 05h: a read-only DVD-ROM drive holding one disc (which can be ejected
// and loaded again: kNeedsMedium rows are NOT READY in between). Same row
// shape and dispatch rules as the SBC-3 table (opcode_table.cc): the usage
// bitmap is what REPORT SUPPORTED OPERATION CODES returns and the mask every CDB
// is checked against. What is not here is INVALID COMMAND OPERATION CODE.
#include "scsi/handlers.h"
#include "scsi/opcode_table.h"

namespace scsipub::scsi {

namespace {

using DD = DataDirection;
namespace h = handlers;
constexpr uint8_t kUa = opflag::kAllowedWithUa;
constexpr uint8_t kNoLu = opflag::kNoLogicalUnit;
constexpr uint8_t kMd = opflag::kNeedsMedium;
constexpr uint8_t kRsv = opflag::kAllowedUnderReserve;
using namespace row_class;  // NOLINT(google-build-using-namespace): row shorthand

// MMC-6: GET CONFIGURATION and GET EVENT STATUS NOTIFICATION neither report
// nor clear a pending unit attention (initiators poll them while a unit
// attention waits), like INQUIRY and REQUEST SENSE.
// Commands that would change the medium (writes, FORMAT UNIT, BLANK, track and
// session management) are in the table so that they end in DATA PROTECT /
// WRITE PROTECTED (MMC-6: a medium that cannot be written) rather than
// looking unknown.
// Reservation classes: the SPC-4 and SBC-3 commands as their tables say; the
// MMC-6 commands are in neither table (MMC-6 has none), so they get the
// conservative class, write: a non-holder gets RESERVATION CONFLICT.
constexpr OpcodeInfo kMmcTable[] = {
    // SPC-4 6.37 TEST UNIT READY: ready unless the disc is ejected
    {0x00, false, 0, 6, DD::none, kAllowed, kMd, h::test_unit_ready, {0xFF, 0, 0, 0, 0, 0}, 1, 5},
    // SPC-4 6.39 REQUEST SENSE
    {0x03, false, 0, 6, DD::in, kAllowed, kUa | kNoLu | kRsv, h::request_sense, {0xFF, 0x01, 0, 0, 0xFF, 0}, 1, 5},
    // MMC-6 FORMAT UNIT
    {0x04, false, 0, 6, DD::out, kWrite, kMd, h::mmc_write_protected, {0xFF, 0x1F, 0, 0, 0, 0}, 1, 5},
    // SPC-4 6.6 INQUIRY
    {0x12, false, 0, 6, DD::in, kAllowed, kUa | kNoLu | kRsv, h::inquiry, {0xFF, 0x01, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    // SPC-4 6.11 MODE SENSE (6)
    {0x1A, false, 0, 6, DD::in, kRead, 0, h::mmc_mode_sense6, {0xFF, 0x08, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    // MMC-6 START STOP UNIT: IMMED; FORMAT-LAYER NUMBER; POWER CONDITIONS, FL, LOEJ, START
    {0x1B, false, 0, 6, DD::none, kStartStop, kRsv, h::mmc_start_stop_unit, {0xFF, 0x01, 0, 0x03, 0xF7, 0}, 1, 5},
    // MMC-6 PREVENT ALLOW MEDIUM REMOVAL: PERSISTENT, PREVENT
    {0x1E, false, 0, 6, DD::none, kPreventAllow, kRsv, h::mmc_prevent_allow_medium_removal, {0xFF, 0, 0, 0, 0x03, 0}, 1, 5},
    // MMC-6 READ CAPACITY: LBA and PMI are obsolete (accepted, ignored)
    {0x25, false, 0, 10, DD::in, kAllowed, kMd | kRsv, h::mmc_read_capacity, {0xFF, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0x01, 0}, 1, 5},
    // MMC-6 READ (10): DPO, FUA (and SBC's RARC / FUA_NV, meaningless here)
    {0x28, false, 0, 10, DD::in, kRead, kMd, h::mmc_read10, {0xFF, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0}, 5, 30},
    // MMC-6 WRITE (10)
    {0x2A, false, 0, 10, DD::out, kWrite, kMd, h::mmc_write_protected,
     {0xFF, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0}, 5, 30},
    // MMC-6 WRITE AND VERIFY (10)
    {0x2E, false, 0, 10, DD::out, kWrite, kMd, h::mmc_write_protected,
     {0xFF, 0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0xFF, 0xFF, 0}, 5, 30},
    // MMC-6 READ TOC/PMA/ATIP: MSF; FORMAT; TRACK/SESSION; the legacy
    // format bits 7:6 of the CONTROL byte (SFF-8020; the Linux sr driver uses them)
    {0x43, false, 0, 10, DD::in, kWrite, kMd, h::mmc_read_toc, {0xFF, 0x02, 0x0F, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xC0}, 1, 5},
    // MMC-6 GET CONFIGURATION: RT; STARTING FEATURE NUMBER
    {0x46, false, 0, 10, DD::in, kWrite, kUa, h::mmc_get_configuration, {0xFF, 0x03, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    // MMC-6 GET EVENT STATUS NOTIFICATION: POLLED; NOTIFICATION CLASS REQUEST
    {0x4A, false, 0, 10, DD::in, kWrite, kUa, h::mmc_get_event_status, {0xFF, 0x01, 0, 0, 0xFF, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    // MMC-6 READ DISC INFORMATION: DATA TYPE
    {0x51, false, 0, 10, DD::in, kWrite, kMd, h::mmc_read_disc_information, {0xFF, 0x07, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    // MMC-6 READ TRACK INFORMATION: ADDRESS/NUMBER TYPE
    {0x52, false, 0, 10, DD::in, kWrite, kMd, h::mmc_read_track_information,
     {0xFF, 0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0xFF, 0xFF, 0}, 1, 5},
    // MMC-6 RESERVE TRACK
    {0x53, false, 0, 10, DD::none, kWrite, kMd, h::mmc_write_protected,
     {0xFF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0}, 1, 5},
    // SPC-4 6.12 MODE SENSE (10)
    {0x5A, false, 0, 10, DD::in, kRead, 0, h::mmc_mode_sense10, {0xFF, 0x18, 0xFF, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0}, 1, 5},
    // MMC-6 CLOSE TRACK/SESSION
    {0x5B, false, 0, 10, DD::none, kWrite, kMd, h::mmc_write_protected, {0xFF, 0x01, 0x07, 0, 0xFF, 0xFF, 0, 0, 0, 0}, 1, 5},
    // SBC-3 5.9 READ (16): not in MMC, but harmless and cheap
    {0x88, false, 0, 16, DD::in, kRead, kMd, h::mmc_read16,
     {0xFF, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x1F, 0}, 5, 30},
    // SPC-4 6.33 REPORT LUNS
    {0xA0, false, 0, 12, DD::in, kAllowed, kUa | kNoLu | kRsv, h::report_luns, {0xFF, 0, 0xFF, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0}, 1, 5},
    // MMC-6 BLANK
    {0xA1, false, 0, 12, DD::none, kWrite, kMd, h::mmc_write_protected,
     {0xFF, 0x17, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0}, 1, 5},
    // SPC-4 6.35 REPORT SUPPORTED OPERATION CODES: MAINTENANCE IN, SA 0Ch
    {0xA3, true, 0x0C, 12, DD::in, kRead, 0, h::report_supported_opcodes,
     {0xFF, 0x1F, 0x87, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0}, 1, 5},
    // MMC-6 READ (12): DPO, FUA; STREAMING
    {0xA8, false, 0, 12, DD::in, kRead, kMd, h::mmc_read12,
     {0xFF, 0x1E, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x9F, 0}, 5, 30},
    // MMC-6 WRITE (12)
    {0xAA, false, 0, 12, DD::out, kWrite, kMd, h::mmc_write_protected,
     {0xFF, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x9F, 0}, 5, 30},
};

}  // namespace

std::span<const OpcodeInfo> mmc_opcode_table() { return kMmcTable; }

}  // namespace scsipub::scsi
