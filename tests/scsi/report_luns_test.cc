// Mirrors libiscsi test_report_luns.c.
#include "scsi_fixture.h"

namespace scsipub::scsi::testing {
namespace {

class ReportLunsTest : public ScsiTest {
 protected:
  Result report(uint8_t select, uint32_t alloc, uint64_t lun = 0) {
    std::vector<uint8_t> c(12, 0);
    c[0] = 0xA0;
    c[2] = select;
    store_be32(&c[6], alloc);
    return run(c, {}, lun);
  }
};

TEST_F(ReportLunsTest, ListsAllLuns) {
  luns.add(1, std::make_shared<lu::LogicalUnit>(std::make_shared<storage::MemoryStore>(8), lu::Identity{}));
  luns.add(300, std::make_shared<lu::LogicalUnit>(std::make_shared<storage::MemoryStore>(8), lu::Identity{}));
  for (uint8_t select : {0, 2}) {
    Result r = report(select, 4096);
    ASSERT_TRUE(r.good());
    ASSERT_EQ(load_be32(&r.data[0]), 24u);
    ASSERT_EQ(r.data.size(), 32u);
    EXPECT_EQ(r.data[9], 0);
    EXPECT_EQ(r.data[17], 1);
    EXPECT_EQ(r.data[24], 0x40 | (300 >> 8));  // flat space addressing
    EXPECT_EQ(r.data[25], 300 & 0xFF);
  }
  Result wk = report(1, 4096);
  ASSERT_TRUE(wk.good());
  EXPECT_EQ(load_be32(&wk.data[0]), 0u);
}

TEST_F(ReportLunsTest, AllocationLength) {
  EXPECT_TRUE(report(0, 15).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(report(0, 0).is(kIllegal, 0x24, 0));
  Result r = report(0, 16);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 16u);
  for (uint32_t n = 16; n < 40; ++n) EXPECT_TRUE(report(0, n).good());
}

TEST_F(ReportLunsTest, InvalidSelectReport) { EXPECT_TRUE(report(3, 64).is(kIllegal, 0x24, 0)); }

TEST_F(ReportLunsTest, WorksOnMissingLun) {
  Result r = report(0, 64, 5);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(load_be32(&r.data[0]), 8u);
}

}  // namespace
}  // namespace scsipub::scsi::testing
