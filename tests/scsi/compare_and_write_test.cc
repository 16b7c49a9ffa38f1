// Mirrors libiscsi test_compareandwrite_*.c and test_orwrite_*.c.
#include "scsi_fixture.h"

namespace scsipub::scsi::testing {
namespace {

using CompareAndWriteTest = ScsiTest;

std::vector<uint8_t> caw(uint64_t lba, uint8_t blocks, uint8_t b1 = 0) {
  std::vector<uint8_t> c(16, 0);
  c[0] = 0x89;
  c[1] = b1;
  store_be64(&c[2], lba);
  c[13] = blocks;
  return c;
}

TEST_F(CompareAndWriteTest, SimpleSwap) {
  for (uint8_t n : {uint8_t{1}, uint8_t{2}, uint8_t{255}}) {
    std::vector<uint8_t> a(n * 512u, 'A'), b(n * 512u, 'B');
    ASSERT_TRUE(run(cdb16(0x8A, 0, n), a).good());
    std::vector<uint8_t> both = a;
    both.insert(both.end(), b.begin(), b.end());
    ASSERT_TRUE(run(caw(0, n), both).good()) << int(n);
    EXPECT_EQ(run(cdb16(0x88, 0, n)).data, b);
  }
}

TEST_F(CompareAndWriteTest, MiscompareLeavesDataAndReportsOffset) {
  std::vector<uint8_t> a(2 * 512, 'A');
  ASSERT_TRUE(run(cdb16(0x8A, kBlocks - 2, 2), a).good());
  std::vector<uint8_t> both = a;
  both[2 * 512 - 27] = 'C';
  both.insert(both.end(), 2 * 512, 'B');
  Result r = run(caw(kBlocks - 2, 2), both);
  EXPECT_TRUE(r.is(0x0E, 0x1D, 0x00));
  EXPECT_EQ(r.information(), 2u * 512 - 27);
  EXPECT_EQ(run(cdb16(0x88, kBlocks - 2, 2)).data, a);
}

TEST_F(CompareAndWriteTest, InvalidDataOutSize) {
  EXPECT_EQ(run(caw(0, 1), std::vector<uint8_t>(512)).key(), kIllegal);
  EXPECT_EQ(run(caw(0, 1), std::vector<uint8_t>(4 * 512)).key(), kIllegal);
}

TEST_F(CompareAndWriteTest, LimitsAndRange) {
  EXPECT_TRUE(run(caw(0, 0)).good());
  EXPECT_TRUE(run(caw(kBlocks, 1), std::vector<uint8_t>(1024)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(caw(0, 1, 0x20), std::vector<uint8_t>(1024)).is(kIllegal, 0x24, 0));  // WRPROTECT
  EXPECT_TRUE(run(caw(0, 1, 0x18), std::vector<uint8_t>(1024)).good());                  // DPO FUA
}

TEST_F(CompareAndWriteTest, OrWrite) {
  std::vector<uint8_t> a(512, 0x0F), b(512, 0xF0);
  ASSERT_TRUE(run(cdb16(0x8A, 3, 1), a).good());
  ASSERT_TRUE(run(cdb16(0x8B, 3, 1), b).good());
  EXPECT_EQ(run(cdb16(0x88, 3, 1)).data, std::vector<uint8_t>(512, 0xFF));
  EXPECT_TRUE(run(cdb16(0x8B, 0, 0)).good());
  EXPECT_TRUE(run(cdb16(0x8B, kBlocks, 1), b).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb16(0x8B, 0, 1, 0x20), b).is(kIllegal, 0x24, 0));
}

}  // namespace
}  // namespace scsipub::scsi::testing
