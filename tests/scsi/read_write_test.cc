// Mirrors libiscsi test_read*/test_write* (simple, beyond EOL, zero blocks,
// protect fields, DPO/FUA flags, residuals).
#include <algorithm>
#include "scsi_fixture.h"

namespace scsipub::scsi::testing {
namespace {

using ReadWriteTest = ScsiTest;

TEST_F(ReadWriteTest, Write10ThenRead10) {
  auto data = pattern(8, 3);
  Result w = run(cdb10(0x2A, 100, 8), data);
  ASSERT_TRUE(w.good());
  EXPECT_EQ(w.write_transfer_length, 8u * 512);
  Result r = run(cdb10(0x28, 100, 8));
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data, data);
}

TEST_F(ReadWriteTest, AllSizesRoundTrip) {
  auto data = pattern(4, 9);
  ASSERT_TRUE(run(cdb12(0xAA, 10, 4), data).good());
  EXPECT_EQ(run(cdb12(0xA8, 10, 4)).data, data);
  ASSERT_TRUE(run(cdb16(0x8A, 20, 4), data).good());
  EXPECT_EQ(run(cdb16(0x88, 20, 4)).data, data);
  ASSERT_TRUE(run({0x0A, 0, 0, 30, 4, 0}, data).good());
  EXPECT_EQ(run({0x08, 0, 0, 30, 4, 0}).data, data);
}

TEST_F(ReadWriteTest, Read6ZeroLengthMeans256Blocks) {
  Result r = run({0x08, 0, 0, 0, 0, 0});
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 256u * 512);
  EXPECT_EQ(run({0x0A, 0, 0, 0, 0, 0}, pattern(256, 1)).status, 0);
}

TEST_F(ReadWriteTest, BeyondEndOfLun) {
  for (uint32_t n = 1; n <= 4; ++n) {
    EXPECT_TRUE(run(cdb10(0x28, uint32_t(kBlocks - n + 1), uint16_t(n))).is(kIllegal, 0x21, 0));
    EXPECT_TRUE(run(cdb16(0x88, kBlocks - n + 1, n)).is(kIllegal, 0x21, 0));
    EXPECT_TRUE(run(cdb10(0x2A, uint32_t(kBlocks - n + 1), uint16_t(n)), pattern(n, 0)).is(kIllegal, 0x21, 0));
  }
  EXPECT_TRUE(run(cdb16(0x88, 0xFFFFFFFFFFFFFFFFull, 1)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb16(0x88, 0x8000000000000000ull, 1)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb12(0xA8, 0xFFFFFFFF, 2)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run({0x08, 0x1F, 0xFF, 0xFF, 1, 0}).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb10(0x28, uint32_t(kBlocks - 1), 1)).good());
}

TEST_F(ReadWriteTest, ZeroBlocks) {
  EXPECT_TRUE(run(cdb10(0x28, 0, 0)).good());
  EXPECT_TRUE(run(cdb10(0x28, 0, 0)).data.empty());
  EXPECT_TRUE(run(cdb10(0x28, uint32_t(kBlocks + 1), 0)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb10(0x28, 0x80000000, 0)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb10(0x28, 0xFFFFFFFF, 0)).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb10(0x2A, 0, 0)).good());
  EXPECT_TRUE(run(cdb10(0x2A, uint32_t(kBlocks + 1), 0)).is(kIllegal, 0x21, 0));
}

TEST_F(ReadWriteTest, ProtectFieldsRejected) {
  for (uint8_t p = 1; p < 8; ++p) {
    EXPECT_TRUE(run(cdb10(0x28, 0, 1, uint8_t(p << 5))).is(kIllegal, 0x24, 0));
    EXPECT_TRUE(run(cdb12(0xA8, 0, 1, uint8_t(p << 5))).is(kIllegal, 0x24, 0));
    EXPECT_TRUE(run(cdb16(0x88, 0, 1, uint8_t(p << 5))).is(kIllegal, 0x24, 0));
    EXPECT_TRUE(run(cdb10(0x2A, 0, 1, uint8_t(p << 5)), pattern(1, 0)).is(kIllegal, 0x24, 0));
    EXPECT_TRUE(run(cdb16(0x8A, 0, 1, uint8_t(p << 5)), pattern(1, 0)).is(kIllegal, 0x24, 0));
  }
}

TEST_F(ReadWriteTest, DpoFuaAccepted) {
  for (uint8_t flags : {0x10, 0x08, 0x18, 0x02, 0x1A}) {
    EXPECT_TRUE(run(cdb10(0x28, 0, 1, flags)).good());
    EXPECT_TRUE(run(cdb10(0x2A, 0, 1, flags), pattern(1, 0)).good());
    EXPECT_TRUE(run(cdb16(0x8A, 0, 1, flags), pattern(1, 0)).good());
  }
  auto c = cdb10(0x2A, 0, 1);
  c[6] = 0x1F;  // group number
  EXPECT_TRUE(run(c, pattern(1, 0)).good());
}

TEST_F(ReadWriteTest, WriteResidualMismatchFollowsFcp4OptionA) {
  // libiscsi 1.19 Write10Residuals: EDTL != SPDTL -> GOOD, data beyond the
  // CDB's length ignored, only whole blocks received written.
  std::vector<uint8_t> two = pattern(2, 5);
  Result more = run(cdb10(0x2A, 0, 1), two);
  EXPECT_TRUE(more.good());
  EXPECT_EQ(more.write_transfer_length, 512u);
  Result r = run(cdb10(0x28, 0, 2));
  EXPECT_TRUE(std::equal(r.data.begin(), r.data.begin() + 512, two.begin()));
  EXPECT_EQ(std::vector<uint8_t>(r.data.begin() + 512, r.data.end()), std::vector<uint8_t>(512, 0));

  std::vector<uint8_t> one = pattern(1, 9);
  Result less = run(cdb10(0x2A, 2, 2), one);
  EXPECT_TRUE(less.good());
  EXPECT_EQ(less.write_transfer_length, 1024u);
  r = run(cdb10(0x28, 2, 2));
  EXPECT_TRUE(std::equal(r.data.begin(), r.data.begin() + 512, one.begin()));
  EXPECT_EQ(std::vector<uint8_t>(r.data.begin() + 512, r.data.end()), std::vector<uint8_t>(512, 0));

  // Nothing to write: GOOD with nothing written.
  EXPECT_TRUE(run(cdb10(0x2A, 4, 1), {}).good());
  EXPECT_TRUE(run(cdb10(0x2A, 4, 0), pattern(1, 5)).good());
  EXPECT_EQ(run(cdb10(0x28, 4, 1)).data, std::vector<uint8_t>(512, 0));
  // A partial block cannot be written.
  EXPECT_TRUE(run(cdb10(0x2A, 6, 1), std::vector<uint8_t>(200, 1)).is(kIllegal, 0x0E, 0x03));
  EXPECT_EQ(run(cdb10(0x28, 6, 1)).data, std::vector<uint8_t>(512, 0));
}

TEST_F(ReadWriteTest, MaxTransferLengthEnforced) {
  Result r = inquiry(true, 0xB0, 64);
  uint32_t max = load_be32(&r.data[8]);
  make_lu(max + 16, false);
  EXPECT_TRUE(run(cdb16(0x88, 0, max)).good());
  EXPECT_TRUE(run(cdb16(0x88, 0, max + 1)).is(kIllegal, 0x24, 0));
  EXPECT_TRUE(run(cdb16(0x88, 0, 0xFFFFFFFF)).is(kIllegal, 0x21, 0));  // range first
}

TEST_F(ReadWriteTest, ReadOnlyStore) {
  make_lu(64, true);
  EXPECT_TRUE(run(cdb10(0x28, 0, 1)).good());
  EXPECT_TRUE(run(cdb10(0x2A, 0, 1), pattern(1, 0)).is(0x07, 0x27, 0));
  EXPECT_TRUE(run(cdb12(0xAA, 0, 1), pattern(1, 0)).is(0x07, 0x27, 0));
  EXPECT_TRUE(run(cdb16(0x8A, 0, 1), pattern(1, 0)).is(0x07, 0x27, 0));
  EXPECT_TRUE(run(cdb10(0x2E, 0, 1, 0x02), pattern(1, 0)).is(0x07, 0x27, 0));
  EXPECT_TRUE(run(cdb16(0x8B, 0, 1), pattern(1, 0)).is(0x07, 0x27, 0));
}

// A store that fails on demand, for the MEDIUM ERROR / DATA PROTECT mapping.
class FailingStore final : public storage::BlockStore {
 public:
  storage::IoStatus next = storage::IoStatus::ok;
  uint64_t block_count() const override { return 64; }
  bool read_only() const override { return false; }
  bool thin_provisioned() const override { return false; }
  storage::IoStatus read(uint64_t, std::span<uint8_t> out) override {
    std::fill(out.begin(), out.end(), uint8_t{0});
    return next;
  }
  storage::IoStatus write(uint64_t, std::span<const uint8_t>) override { return next; }
  storage::IoStatus unmap(uint64_t, uint64_t) override { return next; }
  storage::IoStatus flush() override { return storage::IoStatus::ok; }
  storage::LbaRun lba_status(uint64_t) const override { return {true, 1}; }
};

TEST_F(ReadWriteTest, StorageErrorsMapToSense) {
  auto failing = std::make_shared<FailingStore>();
  luns.add(3, std::make_shared<lu::LogicalUnit>(failing, lu::Identity{}));
  failing->next = storage::IoStatus::io_error;
  Result r = run(cdb10(0x28, 0, 1), {}, 3);
  EXPECT_TRUE(r.is(0x03, 0x11, 0));
  EXPECT_TRUE(r.data.empty());
  EXPECT_TRUE(run(cdb10(0x2A, 0, 1), pattern(1, 0), 3).is(0x03, 0x0C, 0));
  failing->next = storage::IoStatus::space_exhausted;
  EXPECT_TRUE(run(cdb10(0x2A, 0, 1), pattern(1, 0), 3).is(0x07, 0x27, 0));
  // A disk moving to another node: NOT READY, BECOMING READY, which
  // initiators retry, for reads, writes and flushes alike.
  failing->next = storage::IoStatus::unavailable;
  Result unavailable = run(cdb10(0x28, 0, 1), {}, 3);
  EXPECT_TRUE(unavailable.is(0x02, 0x04, 0x01));
  EXPECT_TRUE(unavailable.data.empty());
  EXPECT_TRUE(run(cdb10(0x2A, 0, 1), pattern(1, 0), 3).is(0x02, 0x04, 0x01));
  EXPECT_TRUE(run(cdb16(0x8A, 0, 1), pattern(1, 0), 3).is(0x02, 0x04, 0x01));
  // Not thin: UNMAP is not offered.
  EXPECT_TRUE(run(cdb10(0x42, 0, 24), std::vector<uint8_t>(24, 0), 3).is(kIllegal, 0x20, 0));
}

}  // namespace
}  // namespace scsipub::scsi::testing
