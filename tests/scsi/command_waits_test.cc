// CommandSet::waits: which commands the iSCSI layer may run on its event
// loop. Data commands ask the LU's store about their range; commands answered
// from the LU's state never wait; everything else is assumed to.
#include <gtest/gtest.h>

#include "scsi/scsi_fixture.h"
#include "storage/locked_store.h"

namespace scsipub::scsi::testing {
namespace {

class WaitsTest : public ScsiTest {
 protected:
  Wait waits(std::vector<uint8_t> cdb, uint64_t lun = 0) {
    cdb.resize(std::max<size_t>(cdb.size(), 16), 0);
    ScsiTask task;
    task.cdb = cdb;
    task.lun = lun;
    task.nexus = &nexus;
    return commands.waits(task, luns);
  }
};

TEST_F(WaitsTest, ReadsAndWritesOfAMemoryStoreRunOnTheLoop) {
  EXPECT_EQ(waits({0x08, 0, 0, 0, 8, 0}), Wait::never);  // READ(6)
  EXPECT_EQ(waits(cdb10(0x28, 0, 8)), Wait::never);
  EXPECT_EQ(waits(cdb12(0xA8, 8, 8)), Wait::never);
  EXPECT_EQ(waits(cdb16(0x88, 16, 8)), Wait::never);
  EXPECT_EQ(waits({0x0A, 0, 0, 0, 8, 0}), Wait::never);  // WRITE(6)
  EXPECT_EQ(waits(cdb10(0x2A, 0, 8)), Wait::never);
  EXPECT_EQ(waits(cdb12(0xAA, 8, 8)), Wait::never);
  EXPECT_EQ(waits(cdb16(0x8A, 16, 8)), Wait::never);
  EXPECT_EQ(waits(cdb10(0x28, 0xFFFFFFF0u, 8)), Wait::never) << "beyond the end: refused without I/O";
}

TEST_F(WaitsTest, CommandsAnsweredFromTheLogicalUnitsStateRunOnTheLoop) {
  EXPECT_EQ(waits({0x00, 0, 0, 0, 0, 0}), Wait::never);      // TEST UNIT READY
  EXPECT_EQ(waits({0x12, 0, 0, 0, 96, 0}), Wait::never);     // INQUIRY
  EXPECT_EQ(waits(cdb10(0x25, 0, 0)), Wait::never);          // READ CAPACITY(10)
  EXPECT_EQ(waits(cdb16(0x9E, 0, 32, 0x10)), Wait::never);   // READ CAPACITY(16)
  EXPECT_EQ(waits({0x1A, 0, 0x3F, 0, 255, 0}), Wait::never);  // MODE SENSE(6)
  EXPECT_EQ(waits({0x12, 0, 0, 0, 96, 0}, 7), Wait::never) << "an unknown LUN is answered at once";
}

TEST_F(WaitsTest, FlushesReservationsAndLargeTransfersMayBlock) {
  EXPECT_EQ(waits(cdb10(0x2A, 0, 8, 0x08)), Wait::may) << "WRITE(10) with FUA flushes";
  EXPECT_EQ(waits(cdb16(0x8A, 0, 8, 0x08)), Wait::may) << "WRITE(16) with FUA flushes";
  EXPECT_EQ(waits(cdb10(0x35, 0, 0)), Wait::may);   // SYNCHRONIZE CACHE(10)
  EXPECT_EQ(waits(cdb10(0x42, 0, 24)), Wait::may);  // UNMAP
  EXPECT_EQ(waits(cdb10(0x5F, 0, 24, 0x01)), Wait::may) << "PERSISTENT RESERVE OUT persists";
  EXPECT_EQ(waits(cdb16(0x9E, 0, 32, 0x12)), Wait::may) << "GET LBA STATUS is not in the list";
  EXPECT_EQ(waits(cdb10(0x28, 0, 1024)), Wait::may) << "512 KiB is too much to copy on the loop";
  EXPECT_EQ(waits(cdb10(0x28, 0, 512)), Wait::never) << "256 KiB is not";
}

TEST_F(WaitsTest, AStoreThatMayWaitSendsItsDataCommandsOffTheLoop) {
  lu::Identity id;
  id.serial = "SN0002";
  luns.add(1, std::make_shared<lu::LogicalUnit>(std::make_shared<storage::LockedStore>(store), id));
  EXPECT_EQ(waits(cdb10(0x28, 0, 8), 1), Wait::unless_cached) << "tried without waiting: the lock may be held";
  EXPECT_EQ(waits(cdb10(0x2A, 0, 8), 1), Wait::may);
  EXPECT_EQ(waits({0x12, 0, 0, 0, 96, 0}, 1), Wait::never);
}

}  // namespace
}  // namespace scsipub::scsi::testing
