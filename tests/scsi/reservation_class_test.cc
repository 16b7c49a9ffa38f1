// The opcode tables decide what a reservation blocks. Every row of both tables
// (SBC-3 direct access, MMC-6 CD/DVD) is checked against the reservation rules
// of the standards, written down here independently of the tables:
//  - SPC-4 5.9.1 table 62 "SPC commands that are allowed in the presence of
//    various reservations" and SBC-3 4.17 table 13 (block commands): allowed
//    everywhere, read-like (allowed under the Write Exclusive types), or a
//    conflict for a non-holder;
//  - the SCSI-2 logical unit reservation (SPC-2 7.21): other I_T nexuses keep
//    INQUIRY, REQUEST SENSE, REPORT LUNS, READ CAPACITY, START STOP UNIT with
//    START = 1 and PREVENT ALLOW MEDIUM REMOVAL allowing removal; PERSISTENT
//    RESERVE IN/OUT conflict for everyone (SPC-4 6.15.1, 6.16.1).
// Then: the dispatcher really follows a row (a test-only table with one row
// flipped behaves differently), and the iSCSI W bit is checked against a
// row's data direction.
#include <gtest/gtest.h>

#include <iterator>
#include <memory>
#include <optional>
#include <ostream>
#include <vector>

#include "scsi/command_set.h"
#include "scsi/lu_reservations.h"
#include "scsi/opcode_table.h"
#include "scsi_fixture.h"

namespace scsipub::lu {
// Names in failure messages.
void PrintTo(PrAccess a, std::ostream* os) {
  constexpr const char* kNames[] = {"allowed", "read", "write", "own_rules"};
  *os << (size_t(a) < std::size(kNames) ? kNames[size_t(a)] : "?");
}
void PrintTo(Scsi2Access a, std::ostream* os) {
  constexpr const char* kNames[] = {"allowed", "holder_only", "nobody", "own_rules"};
  *os << (size_t(a) < std::size(kNames) ? kNames[size_t(a)] : "?");
}
}  // namespace scsipub::lu

namespace scsipub::scsi {
namespace {

using lu::PrAccess;
using lu::ReservationAccess;
using lu::Scsi2Access;

struct Expected {
  uint8_t opcode;
  std::optional<uint8_t> service_action;  // nullopt: every service action of the opcode
  std::optional<uint8_t> byte4;           // the CDB byte the class depends on, if any
  PrAccess pr;
  Scsi2Access scsi2;
};

constexpr Scsi2Access kOthersOut = Scsi2Access::holder_only;
constexpr Scsi2Access kOthersIn = Scsi2Access::allowed;

// From the standards (see the file comment), not from the tables.
const std::vector<Expected>& spec() {
  static const std::vector<Expected> rows = {
      // SPC-4 table 62
      {0x00, {}, {}, PrAccess::allowed, kOthersOut},  // TEST UNIT READY (SPC-2: not exempt from RESERVE)
      {0x03, {}, {}, PrAccess::allowed, kOthersIn},   // REQUEST SENSE
      {0x12, {}, {}, PrAccess::allowed, kOthersIn},   // INQUIRY
      {0x15, {}, {}, PrAccess::write, kOthersOut},    // MODE SELECT (6)
      {0x55, {}, {}, PrAccess::write, kOthersOut},    // MODE SELECT (10)
      {0x1A, {}, {}, PrAccess::read, kOthersOut},     // MODE SENSE (6)
      {0x5A, {}, {}, PrAccess::read, kOthersOut},     // MODE SENSE (10)
      {0x1E, {}, 0x00, PrAccess::allowed, kOthersIn},  // PREVENT ALLOW MEDIUM REMOVAL, PREVENT = 0
      {0x1E, {}, 0x01, PrAccess::write, kOthersOut},   // PREVENT = 1
      {0x1E, {}, 0x02, PrAccess::write, kOthersOut},   // PREVENT = 2 (MMC: persistent prevent)
      {0x1E, {}, 0x03, PrAccess::write, kOthersOut},
      {0x5E, {}, {}, PrAccess::allowed, Scsi2Access::nobody},    // PERSISTENT RESERVE IN
      {0x5F, {}, {}, PrAccess::own_rules, Scsi2Access::nobody},  // PERSISTENT RESERVE OUT (SPC-4 5.9.7..)
      {0x16, {}, {}, PrAccess::own_rules, Scsi2Access::own_rules},  // RESERVE (6)  (SPC-4 5.9.3)
      {0x17, {}, {}, PrAccess::own_rules, Scsi2Access::own_rules},  // RELEASE (6)
      {0x56, {}, {}, PrAccess::own_rules, Scsi2Access::own_rules},  // RESERVE (10)
      {0x57, {}, {}, PrAccess::own_rules, Scsi2Access::own_rules},  // RELEASE (10)
      {0xA0, {}, {}, PrAccess::allowed, kOthersIn},       // REPORT LUNS
      {0xA3, 0x0C, {}, PrAccess::read, kOthersOut},       // REPORT SUPPORTED OPERATION CODES
      // SBC-3 table 13
      {0x08, {}, {}, PrAccess::read, kOthersOut},  // READ (6)
      {0x28, {}, {}, PrAccess::read, kOthersOut},  // READ (10)
      {0xA8, {}, {}, PrAccess::read, kOthersOut},  // READ (12)
      {0x88, {}, {}, PrAccess::read, kOthersOut},  // READ (16)
      {0x2F, {}, {}, PrAccess::read, kOthersOut},  // VERIFY (10)
      {0xAF, {}, {}, PrAccess::read, kOthersOut},  // VERIFY (12)
      {0x8F, {}, {}, PrAccess::read, kOthersOut},  // VERIFY (16)
      {0x34, {}, {}, PrAccess::read, kOthersOut},  // PRE-FETCH (10)
      {0x90, {}, {}, PrAccess::read, kOthersOut},  // PRE-FETCH (16)
      {0x37, {}, {}, PrAccess::read, kOthersOut},  // READ DEFECT DATA (10)
      {0xB7, {}, {}, PrAccess::read, kOthersOut},  // READ DEFECT DATA (12)
      {0x9E, 0x12, {}, PrAccess::read, kOthersOut},     // GET LBA STATUS
      {0x25, {}, {}, PrAccess::allowed, kOthersIn},     // READ CAPACITY (10)
      {0x9E, 0x10, {}, PrAccess::allowed, kOthersIn},   // READ CAPACITY (16)
      {0x0A, {}, {}, PrAccess::write, kOthersOut},  // WRITE (6)
      {0x2A, {}, {}, PrAccess::write, kOthersOut},  // WRITE (10)
      {0xAA, {}, {}, PrAccess::write, kOthersOut},  // WRITE (12)
      {0x8A, {}, {}, PrAccess::write, kOthersOut},  // WRITE (16)
      {0x2E, {}, {}, PrAccess::write, kOthersOut},  // WRITE AND VERIFY (10)
      {0xAE, {}, {}, PrAccess::write, kOthersOut},  // WRITE AND VERIFY (12)
      {0x8E, {}, {}, PrAccess::write, kOthersOut},  // WRITE AND VERIFY (16)
      {0x8B, {}, {}, PrAccess::write, kOthersOut},  // ORWRITE (16)
      {0x89, {}, {}, PrAccess::write, kOthersOut},  // COMPARE AND WRITE
      {0x41, {}, {}, PrAccess::write, kOthersOut},  // WRITE SAME (10)
      {0x93, {}, {}, PrAccess::write, kOthersOut},  // WRITE SAME (16)
      {0x42, {}, {}, PrAccess::write, kOthersOut},  // UNMAP
      {0x35, {}, {}, PrAccess::write, kOthersOut},  // SYNCHRONIZE CACHE (10)
      {0x91, {}, {}, PrAccess::write, kOthersOut},  // SYNCHRONIZE CACHE (16)
      {0x04, {}, {}, PrAccess::write, kOthersOut},  // FORMAT UNIT
      {0x1B, {}, 0x01, PrAccess::allowed, kOthersIn},  // START STOP UNIT: START = 1, POWER CONDITION 0
      {0x1B, {}, 0x03, PrAccess::allowed, kOthersIn},  // LOEJ + START (load): still START = 1
      {0x1B, {}, 0x00, PrAccess::write, kOthersOut},   // stop
      {0x1B, {}, 0x02, PrAccess::write, kOthersOut},   // eject
      {0x1B, {}, 0x11, PrAccess::write, kOthersOut},   // START = 1 with a power condition
      // MMC-6 commands: in neither table (MMC-6 has none), so a conflict for a
      // non-holder, like a write.
      {0x43, {}, {}, PrAccess::write, kOthersOut},  // READ TOC/PMA/ATIP
      {0x46, {}, {}, PrAccess::write, kOthersOut},  // GET CONFIGURATION
      {0x4A, {}, {}, PrAccess::write, kOthersOut},  // GET EVENT STATUS NOTIFICATION
      {0x51, {}, {}, PrAccess::write, kOthersOut},  // READ DISC INFORMATION
      {0x52, {}, {}, PrAccess::write, kOthersOut},  // READ TRACK INFORMATION
      {0x53, {}, {}, PrAccess::write, kOthersOut},  // RESERVE TRACK
      {0x5B, {}, {}, PrAccess::write, kOthersOut},  // CLOSE TRACK/SESSION
      {0xA1, {}, {}, PrAccess::write, kOthersOut},  // BLANK
  };
  return rows;
}

void check_table(std::span<const OpcodeInfo> table, const char* name) {
  for (const auto& row : table) {
    SCOPED_TRACE(::testing::Message() << name << " opcode " << std::hex << int(row.opcode) << " sa "
                                      << row.service_action);
    int checked = 0;
    for (const auto& e : spec()) {
      if (e.opcode != row.opcode) continue;
      if (e.service_action && (!row.has_service_action || *e.service_action != row.service_action)) continue;
      std::vector<uint8_t> cdb(row.cdb_length, 0);
      cdb[0] = row.opcode;
      if (row.has_service_action) cdb[1] = uint8_t(row.service_action);
      if (e.byte4) cdb[4] = *e.byte4;
      const ReservationAccess got = reservation_access(row, cdb);
      EXPECT_EQ(got.pr, e.pr) << "byte 4 = " << int(e.byte4.value_or(0));
      EXPECT_EQ(got.scsi2, e.scsi2) << "byte 4 = " << int(e.byte4.value_or(0));
      ++checked;
    }
    // A new row needs its line above, taken from the standard.
    EXPECT_GT(checked, 0) << "no expectation from the standards for this row";
  }
}

TEST(ReservationClass, DirectAccessTableFollowsTheStandards) { check_table(opcode_table(), "SBC-3"); }
TEST(ReservationClass, CdDvdTableFollowsTheStandards) { check_table(mmc_opcode_table(), "MMC-6"); }

// And the other way round: every command written down here has a row.
TEST(ReservationClass, EveryExpectationHasARow) {
  for (const auto& e : spec()) {
    const uint16_t sa = e.service_action.value_or(0);
    const bool in_sbc = find_opcode(opcode_table(), e.opcode, sa) != nullptr;
    const bool in_mmc = find_opcode(mmc_opcode_table(), e.opcode, sa) != nullptr;
    EXPECT_TRUE(in_sbc || in_mmc) << std::hex << int(e.opcode);
  }
}

// --- the dispatcher follows the row -----------------------------------------

class ReservationDispatchTest : public testing::ScsiTest {
 protected:
  void SetUp() override {
    ScsiTest::SetUp();
    unit->set_extension(std::make_unique<LuReservations>());
    holder.id = 7;
    holder.initiator_name = "iqn.2025-01.org.example:holder";
    holder.target_name = nexus.target_name;
    // The holder registers key 1 and reserves Write Exclusive; `nexus` is a stranger.
    ASSERT_TRUE(run(pr_out(0x06, 0), params(0, 1), 0, &holder).good());  // REGISTER AND IGNORE EXISTING KEY
    ASSERT_TRUE(run(pr_out(0x01, 0x01), params(1, 0), 0, &holder).good());  // RESERVE, Write Exclusive
  }
  static std::vector<uint8_t> pr_out(uint8_t sa, uint8_t type) {
    std::vector<uint8_t> c(10, 0);
    c[0] = 0x5F;
    c[1] = sa;
    c[2] = type;
    store_be32(&c[5], 24);
    return c;
  }
  static std::vector<uint8_t> params(uint64_t key, uint64_t sa_key) {
    std::vector<uint8_t> p(24, 0);
    store_be64(&p[0], key);
    store_be64(&p[8], sa_key);
    return p;
  }
  // The standard direct-access table with one row's class replaced.
  void flip(uint8_t opcode, ReservationClass to) {
    rows.assign(opcode_table().begin(), opcode_table().end());
    for (auto& row : rows)
      if (row.opcode == opcode) row.reservation = to;
    commands = CommandSet{OpcodeTables{rows, mmc_opcode_table()}};
  }

  lu::Nexus holder;
  std::vector<OpcodeInfo> rows;
};

TEST_F(ReservationDispatchTest, FlippingARowChangesWhatTheReservationBlocks) {
  constexpr uint8_t kConflict = 0x18;
  // Write Exclusive: a stranger may READ but not WRITE.
  EXPECT_TRUE(run(cdb10(0x28, 0, 1)).good());
  EXPECT_EQ(run(cdb10(0x2A, 0, 1), pattern(1, 1)).status, kConflict);

  flip(0x28, ReservationClass::write);  // READ (10) now classed as a write
  EXPECT_EQ(run(cdb10(0x28, 0, 1)).status, kConflict);
  EXPECT_TRUE(run(cdb10(0x28, 0, 1), {}, 0, &holder).good());  // the holder still may

  flip(0x2A, ReservationClass::read);  // WRITE (10) classed as a read
  EXPECT_TRUE(run(cdb10(0x2A, 0, 1), pattern(1, 1)).good());
  EXPECT_TRUE(run(cdb10(0x28, 0, 1)).good());  // READ (10) is back to its standard row

  flip(0x2A, ReservationClass::allowed);
  EXPECT_TRUE(run(cdb10(0x2A, 0, 1), pattern(1, 2)).good());
}

TEST_F(ReservationDispatchTest, FlippingACdbDecidedRow) {
  constexpr uint8_t kConflict = 0x18;
  const std::vector<uint8_t> stop = {0x1B, 0, 0, 0, 0x00, 0};
  EXPECT_EQ(run(stop).status, kConflict);
  flip(0x1B, ReservationClass::allowed);
  EXPECT_TRUE(run(stop).good());
}

// --- iSCSI R/W bits against the row's data direction -------------------------

class TransferDirectionTest : public testing::ScsiTest {
 protected:
  testing::Result send(std::vector<uint8_t> cdb, bool r, bool w, uint32_t edtl, std::vector<uint8_t> data_out = {}) {
    cdb.resize(16, 0);
    ScsiTask task;
    task.cdb = cdb;
    task.nexus = &nexus;
    task.read_flag = r;
    task.write_flag = w;
    task.expected_length = edtl;
    task.data_out = data_out;
    Buffer in;
    task.data_in = &in;
    commands.execute(task, luns);
    testing::Result res;
    res.status = task.status;
    res.data.assign(in.data(), in.data() + in.size());
    res.sense.assign(task.sense.begin(), task.sense.begin() + task.sense_length);
    return res;
  }
};

TEST_F(TransferDirectionTest, DataOutCommandWithoutWBitIsRejected) {
  // WRITE (10) of one block announced as a read: INVALID FIELD IN INFORMATION UNIT.
  EXPECT_TRUE(send(cdb10(0x2A, 0, 1), true, false, 512).is(testing::kIllegal, 0x0E, 0x03));
  // Neither bit but a transfer length (RFC 7143 11.3.1 forbids it): the same.
  EXPECT_TRUE(send(cdb10(0x2A, 0, 1), false, false, 512).is(testing::kIllegal, 0x0E, 0x03));
  // MODE SELECT (6) with a parameter list announced as Data-In.
  EXPECT_TRUE(send({0x15, 0x10, 0, 0, 12, 0}, true, false, 12).is(testing::kIllegal, 0x0E, 0x03));
  // Nothing was written.
  EXPECT_EQ(send(cdb10(0x28, 0, 1), true, false, 512).data, std::vector<uint8_t>(512, 0));
}

TEST_F(TransferDirectionTest, WhatIsNotAContradiction) {
  // EDTL 0: any bits (RFC 7143 11.3.1).
  EXPECT_TRUE(send(cdb10(0x28, 0, 0), false, false, 0).good());         // READ of 0 blocks
  EXPECT_TRUE(send(cdb10(0x28, 0, 1), true, false, 0).good());          // READ, EDTL 0 (overflow)
  EXPECT_TRUE(send({0x15, 0x10, 0, 0, 0, 0}, true, false, 0).good());   // MODE SELECT, list length 0
  EXPECT_TRUE(send({0x00, 0, 0, 0, 0, 0}, false, true, 0).good());      // TEST UNIT READY with W, EDTL 0
  EXPECT_TRUE(send(cdb10(0x2A, 0, 0), true, false, 0).good());          // WRITE of 0 blocks with R
  // A READ flagged as a write (libiscsi iSCSIResiduals.Read10Invalid): GOOD.
  EXPECT_TRUE(send(cdb10(0x28, 0, 1), false, true, 512, pattern(1, 3)).good());
  // A no-data command with W and data: runs.
  EXPECT_TRUE(send({0x00, 0, 0, 0, 0, 0}, false, true, 512, pattern(1, 4)).good());
  // The ordinary cases.
  EXPECT_TRUE(send(cdb10(0x2A, 0, 1), false, true, 512, pattern(1, 5)).good());
  EXPECT_TRUE(send(cdb10(0x28, 0, 1), true, false, 512).good());
}

TEST(TransferDirection, Rule) {
  EXPECT_TRUE(transfer_contradicts_cdb(DataDirection::out, false, 1));
  EXPECT_FALSE(transfer_contradicts_cdb(DataDirection::out, true, 1));
  EXPECT_FALSE(transfer_contradicts_cdb(DataDirection::out, false, 0));
  EXPECT_FALSE(transfer_contradicts_cdb(DataDirection::in, true, 512));
  EXPECT_FALSE(transfer_contradicts_cdb(DataDirection::none, true, 512));
}

}  // namespace
}  // namespace scsipub::scsi
