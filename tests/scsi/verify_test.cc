// Mirrors libiscsi test_verify*.c and test_writeverify*.c.
#include "scsi_fixture.h"

namespace scsipub::scsi::testing {
namespace {

using VerifyTest = ScsiTest;

TEST_F(VerifyTest, MatchIsGood) {
  auto data = pattern(4, 1);
  ASSERT_TRUE(run(cdb10(0x2A, 8, 4), data).good());
  EXPECT_TRUE(run(cdb10(0x2F, 8, 4, 0x02), data).good());
  EXPECT_TRUE(run(cdb12(0xAF, 8, 4, 0x02), data).good());
  EXPECT_TRUE(run(cdb16(0x8F, 8, 4, 0x02), data).good());
}

TEST_F(VerifyTest, MismatchReportsOffset) {
  auto data = pattern(4, 1);
  ASSERT_TRUE(run(cdb10(0x2A, 8, 4), data).good());
  for (size_t off : {size_t{0}, size_t{511}, size_t{1500}, data.size() - 1}) {
    auto bad = data;
    bad[off] ^= 'X';
    Result r = run(cdb10(0x2F, 8, 4, 0x02), bad);
    EXPECT_TRUE(r.is(0x0E, 0x1D, 0x00));
    EXPECT_EQ(r.information(), off);
    r = run(cdb16(0x8F, 8, 4, 0x02), bad);
    EXPECT_TRUE(r.is(0x0E, 0x1D, 0x00));
  }
}

TEST_F(VerifyTest, NoByteCheckOnlyChecksRange) {
  EXPECT_TRUE(run(cdb10(0x2F, 0, 16)).good());
  EXPECT_TRUE(run(cdb10(0x2F, uint32_t(kBlocks - 1), 2)).is(kIllegal, 0x21, 0));
}

TEST_F(VerifyTest, ZeroBlocksAndBeyondEol) {
  EXPECT_TRUE(run(cdb10(0x2F, 0, 0, 0x02)).good());
  EXPECT_TRUE(run(cdb10(0x2F, uint32_t(kBlocks + 1), 0, 0x02)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb10(0x2F, 0xFFFFFFFF, 0, 0x02)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb16(0x8F, kBlocks, 1, 0x02), pattern(1, 0)).is(kIllegal, 0x21, 0));
}

TEST_F(VerifyTest, VrprotectRejectedDpoAccepted) {
  EXPECT_TRUE(run(cdb10(0x2F, 0, 1, 0x20 | 0x02), std::vector<uint8_t>(512)).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(run(cdb10(0x2F, 0, 1, 0x10 | 0x02), std::vector<uint8_t>(512)).good());
  EXPECT_TRUE(run(cdb10(0x2F, 0, 1, 0x04)).is(kIllegal, 0x24, 0));  // BYTCHK 10b reserved
}

TEST_F(VerifyTest, ByteCheck11ComparesEveryBlockWithOne) {
  std::vector<uint8_t> block(512, 0x5A);
  std::vector<uint8_t> four;
  for (int i = 0; i < 4; ++i) four.insert(four.end(), block.begin(), block.end());
  ASSERT_TRUE(run(cdb10(0x2A, 0, 4), four).good());
  EXPECT_TRUE(run(cdb10(0x2F, 0, 4, 0x06), block).good());
  four[3 * 512 + 7] = 0;
  ASSERT_TRUE(run(cdb10(0x2A, 0, 4), four).good());
  Result r = run(cdb10(0x2F, 0, 4, 0x06), block);
  EXPECT_TRUE(r.is(0x0E, 0x1D, 0));
  EXPECT_EQ(r.information(), 3u * 512 + 7);
}

TEST_F(VerifyTest, WriteAndVerify) {
  auto data = pattern(3, 4);
  for (uint8_t op : {0x2E, 0xAE, 0x8E}) {
    std::vector<uint8_t> c = op == 0x2E ? cdb10(op, 5, 3, 0x02) : op == 0xAE ? cdb12(op, 5, 3, 0x02)
                                                                             : cdb16(op, 5, 3, 0x02);
    ASSERT_TRUE(run(c, data).good()) << int(op);
    EXPECT_EQ(run(cdb10(0x28, 5, 3)).data, data);
  }
  EXPECT_TRUE(run(cdb10(0x2E, 0, 1, 0x10), pattern(1, 0)).good());            // DPO
  EXPECT_TRUE(run(cdb10(0x2E, 0, 1, 0x20), pattern(1, 0)).is(kIllegal, 0x24, 0));  // WRPROTECT
  EXPECT_TRUE(run(cdb10(0x2E, uint32_t(kBlocks), 1), pattern(1, 0)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb10(0x2E, 0, 0)).good());
}

TEST_F(VerifyTest, WriteAndVerifyResidualsLikeLibiscsi) {
  // EDTL 0, one block: GOOD, nothing written, SPDTL reported for the overflow.
  Result r = run(cdb10(0x2E, 0, 1, 0x02), {});
  EXPECT_TRUE(r.good());
  EXPECT_EQ(r.write_transfer_length, 512u);
  // EDTL 10000 for one block: the first 512 bytes are written.
  std::vector<uint8_t> big(10000, 0xA6);
  EXPECT_TRUE(run(cdb10(0x2E, 0, 1, 0x02), big).good());
  EXPECT_EQ(run(cdb10(0x28, 0, 1)).data, std::vector<uint8_t>(512, 0xA6));
  // EDTL 200: a partial block is refused.
  EXPECT_TRUE(run(cdb10(0x2E, 0, 1, 0x02), std::vector<uint8_t>(200, 1)).is(kIllegal, 0x0E, 0x03));
  // Two blocks, one sent: only the first is written.
  ASSERT_TRUE(run(cdb10(0x2A, 0, 2), std::vector<uint8_t>(1024, 'a')).good());
  EXPECT_TRUE(run(cdb16(0x8E, 0, 2, 0x02), std::vector<uint8_t>(512, 'b')).good());
  std::vector<uint8_t> expect(512, 'b');
  expect.insert(expect.end(), 512, 'a');
  EXPECT_EQ(run(cdb10(0x28, 0, 2)).data, expect);
}

}  // namespace
}  // namespace scsipub::scsi::testing
