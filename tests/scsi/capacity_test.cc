// Mirrors libiscsi test_readcapacity10_simple.c and test_readcapacity16_*.c.
#include "scsi_fixture.h"

namespace scsipub::scsi::testing {
namespace {

using CapacityTest = ScsiTest;

TEST_F(CapacityTest, ReadCapacity10) {
  Result r = run(cdb10(0x25, 0, 0));
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 8u);
  EXPECT_EQ(load_be32(&r.data[0]), kBlocks - 1);
  EXPECT_EQ(load_be32(&r.data[4]), 512u);
  EXPECT_TRUE(run(cdb10(0x25, 5, 0)).is(kIllegal, 0x24, 0));  // LBA without PMI
}

// A store that only reports a huge size.
class HugeStore final : public storage::BlockStore {
 public:
  uint64_t block_count() const override { return uint64_t{1} << 33; }
  bool read_only() const override { return false; }
  bool thin_provisioned() const override { return false; }
  storage::IoStatus read(uint64_t, std::span<uint8_t>) override { return storage::IoStatus::io_error; }
  storage::IoStatus write(uint64_t, std::span<const uint8_t>) override { return storage::IoStatus::io_error; }
  storage::IoStatus unmap(uint64_t, uint64_t) override { return storage::IoStatus::io_error; }
  storage::IoStatus flush() override { return storage::IoStatus::ok; }
  storage::LbaRun lba_status(uint64_t) const override { return {true, 1}; }
};

TEST_F(CapacityTest, ReadCapacity10SaturatesForHugeLu) {
  luns.add(2, std::make_shared<lu::LogicalUnit>(std::make_shared<HugeStore>(), lu::Identity{}));
  Result r = run(cdb10(0x25, 0, 0), {}, 2);
  EXPECT_EQ(load_be32(&r.data[0]), 0xFFFFFFFFu);
  Result r16 = run(cdb16(0x9E, 0, 32, 0x10), {}, 2);
  EXPECT_EQ(load_be64(&r16.data[0]), (uint64_t{1} << 33) - 1);
  EXPECT_EQ(r16.data[14] & 0xC0, 0);  // not thin: no LBPME
  Result ms = run({0x1A, 0, 0x3F, 0, 255, 0}, {}, 2);
  EXPECT_EQ(load_be32(&ms.data[4]), 0xFFFFFFFFu);
}

TEST_F(CapacityTest, ReadCapacity16) {
  Result r = run(cdb16(0x9E, 0, 32, 0x10));
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 32u);
  EXPECT_EQ(load_be64(&r.data[0]), kBlocks - 1);
  EXPECT_EQ(load_be32(&r.data[8]), 512u);
  EXPECT_EQ(r.data[12], 0);            // no protection
  EXPECT_EQ(r.data[13], 0);
  EXPECT_EQ(r.data[14] & 0xC0, 0xC0);  // LBPME, LBPRZ
  for (uint32_t alloc = 0; alloc < 16; ++alloc) {
    Result t = run(cdb16(0x9E, 0, alloc, 0x10));
    ASSERT_TRUE(t.good());
    EXPECT_EQ(t.data.size(), alloc);
  }
  EXPECT_EQ(run(cdb16(0x9E, 0, 96, 0x10)).data.size(), 32u);
}

}  // namespace
}  // namespace scsipub::scsi::testing
