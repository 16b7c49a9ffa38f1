// Mirrors libiscsi test_writesame10_*.c / test_writesame16_*.c.
#include "scsi_fixture.h"

namespace scsipub::scsi::testing {
namespace {

using WriteSameTest = ScsiTest;

TEST_F(WriteSameTest, SimpleAndCheck) {
  for (uint16_t i : {1, 2, 255, 256}) {
    std::vector<uint8_t> block(512, uint8_t(i));
    ASSERT_TRUE(run(cdb10(0x41, 0, i), block).good());
    Result r = run(cdb10(0x28, 0, i));
    for (size_t b = 0; b < i; ++b)
      ASSERT_TRUE(std::equal(block.begin(), block.end(), r.data.begin() + b * 512)) << i;
    ASSERT_TRUE(run(cdb16(0x93, kBlocks - i, i), block).good());
  }
}

TEST_F(WriteSameTest, UnmapDeallocatesAndReadsZero) {
  ASSERT_TRUE(run(cdb10(0x2A, 0, 8), pattern(8, 1)).good());
  ASSERT_TRUE(run(cdb10(0x41, 0, 8, 0x08), std::vector<uint8_t>(512, 0)).good());
  EXPECT_EQ(run(cdb10(0x28, 0, 8)).data, std::vector<uint8_t>(8 * 512, 0));
  EXPECT_FALSE(store->lba_status(0).mapped);
  ASSERT_TRUE(run(cdb16(0x93, 16, 4), std::vector<uint8_t>(512, 7)).good());
  ASSERT_TRUE(run(cdb16(0x93, 16, 4, 0x08), std::vector<uint8_t>(512, 0)).good());
  EXPECT_FALSE(store->lba_status(16).mapped);
}

TEST_F(WriteSameTest, ZeroBlocksMeansToEndWithinLimit) {
  Result bl = inquiry(true, 0xB0, 64);
  uint64_t max_ws = load_be64(&bl.data[36]);
  ASSERT_EQ(bl.data[4] & 1, 0);  // WSNZ clear
  ASSERT_GT(max_ws, 4u);
  // Our 4096-block LU is smaller than max_ws: 0 writes to the end.
  EXPECT_TRUE(run(cdb10(0x41, 0, 0), std::vector<uint8_t>(512, 1)).good());
  // A LU larger than max_ws: 0 from LBA 0 is invalid; from end-max_ws it is fine.
  make_lu(max_ws + 8, false);
  EXPECT_TRUE(run(cdb16(0x93, 0, 0), std::vector<uint8_t>(512, 1)).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(run(cdb16(0x93, 8 - 1, 0), std::vector<uint8_t>(512, 1)).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(run(cdb16(0x93, 8, 0), std::vector<uint8_t>(512, 1)).good());
  EXPECT_TRUE(run(cdb16(0x93, 9, 0), std::vector<uint8_t>(512, 1)).good());
  EXPECT_TRUE(run(cdb16(0x93, 0, uint32_t(max_ws + 1)), std::vector<uint8_t>(512, 1)).is(kIllegal, 0x24, 0));
}

TEST_F(WriteSameTest, BeyondEol) {
  std::vector<uint8_t> block(512, 1);
  EXPECT_TRUE(run(cdb10(0x41, uint32_t(kBlocks + 1), 0), block).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb10(0x41, 0xFFFFFFFF, 0), block).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb16(0x93, 0x8000000000000000ull, 0), block).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb16(0x93, kBlocks - 1, 2), block).is(kIllegal, 0x21, 0));
}

TEST_F(WriteSameTest, InvalidDataOutSizeAndFlags) {
  EXPECT_EQ(run(cdb10(0x41, 0, 1, 0x08), std::vector<uint8_t>(256)).key(), kIllegal);
  EXPECT_EQ(run(cdb10(0x41, 0, 1, 0x08), std::vector<uint8_t>(1024)).key(), kIllegal);
  EXPECT_TRUE(run(cdb10(0x41, 0, 1, 0x10), std::vector<uint8_t>(512)).is(kIllegal, 0x24, 0));  // ANCHOR
  EXPECT_TRUE(run(cdb10(0x41, 0, 1, 0x20), std::vector<uint8_t>(512)).is(kIllegal, 0x24, 0));  // WRPROTECT
}

TEST_F(WriteSameTest, NoDataOutBuffer) {
  ASSERT_TRUE(run(cdb10(0x2A, 40, 2), pattern(2, 9)).good());
  Result r = run(cdb16(0x93, 40, 2, 0x01));
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.write_transfer_length, 0u);
  EXPECT_EQ(run(cdb10(0x28, 40, 2)).data, std::vector<uint8_t>(1024, 0));
  ASSERT_TRUE(run(cdb16(0x93, 40, 2, 0x09)).good());
  EXPECT_FALSE(store->lba_status(40).mapped);
}

TEST_F(WriteSameTest, ReadOnly) {
  make_lu(64, true);
  EXPECT_TRUE(run(cdb10(0x41, 0, 1), std::vector<uint8_t>(512)).is(0x07, 0x27, 0));
  EXPECT_TRUE(run(cdb10(0x41, 0, 1, 0x08), std::vector<uint8_t>(512)).is(0x07, 0x27, 0));
  EXPECT_TRUE(run(cdb16(0x93, 0, 1, 0x08)).is(0x07, 0x27, 0));  // no data sent at all
}

}  // namespace
}  // namespace scsipub::scsi::testing
