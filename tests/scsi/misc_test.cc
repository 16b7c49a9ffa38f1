// Mirrors libiscsi test_testunitready_simple.c, test_startstopunit_*.c,
// test_preventallow_simple.c, test_prefetch*.c, test_readdefectdata*.c and
// the SYNCHRONIZE CACHE uses in test_nomedia_sbc.c.
#include "scsi_fixture.h"

namespace scsipub::scsi::testing {
namespace {

using MiscTest = ScsiTest;

TEST_F(MiscTest, TestUnitReady) { EXPECT_TRUE(run({0x00, 0, 0, 0, 0, 0}).good()); }

TEST_F(MiscTest, StartStopUnit) {
  for (uint8_t b4 : {0x00, 0x01, 0x02, 0x03, 0x10, 0x30, 0x70, 0xA0, 0xB0})
    EXPECT_TRUE(run({0x1B, 0x01, 0, 0, b4, 0}).good()) << int(b4);
  EXPECT_TRUE(run({0x1B, 0, 0, 0, 0x40, 0}).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(run({0x00, 0, 0, 0, 0, 0}).good());
}

TEST_F(MiscTest, PreventAllow) {
  EXPECT_TRUE(run({0x1E, 0, 0, 0, 1, 0}).good());
  EXPECT_TRUE(run({0x1E, 0, 0, 0, 0, 0}).good());
  EXPECT_TRUE(run({0x1E, 0, 0, 0, 2, 0}).is(kIllegal, 0x24, 0));
}

TEST_F(MiscTest, SynchronizeCache) {
  EXPECT_TRUE(run(cdb10(0x35, 0, 1, 0x02)).good());
  EXPECT_TRUE(run(cdb10(0x35, 0, 0)).good());
  EXPECT_TRUE(run(cdb10(0x35, uint32_t(kBlocks), 1)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb16(0x91, 0, 1, 0x06)).good());
  EXPECT_TRUE(run(cdb16(0x91, kBlocks + 1, 0)).is(kIllegal, 0x21, 0));
}

TEST_F(MiscTest, Prefetch) {
  for (uint32_t i = 1; i <= 256; i *= 2) {
    EXPECT_TRUE(run(cdb10(0x34, 0, uint16_t(i))).good());
    EXPECT_TRUE(run(cdb16(0x90, kBlocks - i, i)).good());
  }
  EXPECT_TRUE(run(cdb10(0x34, 0, 0)).good());
  EXPECT_TRUE(run(cdb10(0x34, uint32_t(kBlocks + 1), 0)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb10(0x34, 0x80000000, 0)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb16(0x90, kBlocks - 1, 2)).is(kIllegal, 0x21, 0));
  auto c = cdb10(0x34, 0, 1, 0x02);
  c[6] = 3;  // group number
  EXPECT_TRUE(run(c).good());
}

TEST_F(MiscTest, ReadDefectData) {
  Result r = run({0x37, 0, 0x18, 0, 0, 0, 0, 0, 32, 0});
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 4u);
  EXPECT_EQ(load_be16(&r.data[2]), 0);
  std::vector<uint8_t> c(12, 0);
  c[0] = 0xB7;
  c[9] = 32;
  r = run(c);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 8u);
}

TEST_F(MiscTest, EmptyOrShortCdb) {
  ScsiTask task;
  Buffer in;
  task.data_in = &in;
  commands.execute(task, luns);
  EXPECT_EQ(task.status, status::kCheckCondition);
  std::vector<uint8_t> c{0x28, 0, 0};  // READ (10) cut short
  task.cdb = c;
  commands.execute(task, luns);
  EXPECT_EQ(task.status, status::kCheckCondition);
  EXPECT_TRUE(in.empty());
}

}  // namespace
}  // namespace scsipub::scsi::testing
