// Mirrors libiscsi test_unmap_*.c and test_get_lba_status_*.c.
#include "scsi_fixture.h"

namespace scsipub::scsi::testing {
namespace {


std::vector<uint8_t> unmap_list(std::vector<std::pair<uint64_t, uint32_t>> d) {
  std::vector<uint8_t> v(8 + 16 * d.size(), 0);
  store_be16(&v[0], uint16_t(v.size() - 2));
  store_be16(&v[2], uint16_t(16 * d.size()));
  for (size_t i = 0; i < d.size(); ++i) {
    store_be64(&v[8 + 16 * i], d[i].first);
    store_be32(&v[8 + 16 * i + 8], d[i].second);
  }
  return v;
}


class UnmapFixture : public ScsiTest {
 protected:
  Result unmap(std::vector<std::pair<uint64_t, uint32_t>> d) {
    auto list = unmap_list(std::move(d));
    return run(cdb10(0x42, 0, uint16_t(list.size())), list);
  }
  Result lba_status(uint64_t lba, uint32_t alloc = 24) {
    std::vector<uint8_t> c = cdb16(0x9E, lba, alloc, 0x12);
    return run(c);
  }
};

TEST_F(UnmapFixture, SimpleReadsBackZero) {
  ASSERT_TRUE(run(cdb10(0x2A, 0, 256), pattern(256, 1)).good());
  for (uint32_t i = 1; i <= 256; i *= 2) {
    ASSERT_TRUE(unmap({{0, i}}).good());
    Result r = run(cdb10(0x28, 0, uint16_t(i)));
    EXPECT_EQ(r.data, std::vector<uint8_t>(i * 512, 0));
  }
}

TEST_F(UnmapFixture, ManyDescriptors) {
  ASSERT_TRUE(run(cdb10(0x2A, 0, 256), pattern(256, 1)).good());
  std::vector<std::pair<uint64_t, uint32_t>> d;
  for (uint64_t i = 0; i < 256; ++i) d.push_back({i, 1});
  ASSERT_TRUE(unmap(d).good());
  EXPECT_EQ(run(cdb10(0x28, 0, 256)).data, std::vector<uint8_t>(256 * 512, 0));
  d.push_back({300, 1});  // 257 > max descriptors
  EXPECT_TRUE(unmap(d).is(kIllegal, 0x26, 0));
}

TEST_F(UnmapFixture, ZeroBlocks) {
  for (uint64_t i = 0; i < 8; ++i) EXPECT_TRUE(unmap({{i, 0}}).good());
  EXPECT_TRUE(unmap({{kBlocks, 0}}).good());
  EXPECT_TRUE(unmap({}).good());
  EXPECT_TRUE(run(cdb10(0x42, 0, 0)).good());
}

TEST_F(UnmapFixture, RangeAndLengthErrors) {
  EXPECT_TRUE(unmap({{kBlocks, 1}}).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(unmap({{kBlocks - 1, 2}}).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(unmap({{0xFFFFFFFFFFFFFFFFull, 1}}).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(run(cdb10(0x42, 0, 4), std::vector<uint8_t>(4)).is(kIllegal, 0x1A, 0));
  auto list = unmap_list({{0, 1}});
  store_be16(&list[2], 32);  // claims two descriptors, has one
  EXPECT_TRUE(run(cdb10(0x42, 0, uint16_t(list.size())), list).is(kIllegal, 0x1A, 0));
  EXPECT_TRUE(run(cdb10(0x42, 0, 24, 0x01), unmap_list({{0, 1}})).is(kIllegal, 0x24, 0));  // ANCHOR
}

TEST_F(UnmapFixture, ExceedsMaxLbaCount) {
  Result bl = inquiry(true, 0xB0, 64);
  uint32_t max = load_be32(&bl.data[20]);
  make_lu(uint64_t(max) + 64, false);
  EXPECT_TRUE(unmap({{0, max}}).good());
  EXPECT_TRUE(unmap({{0, max + 1}}).is(kIllegal, 0x26, 0));
}

TEST_F(UnmapFixture, ReadOnly) {
  make_lu(64, true);
  EXPECT_TRUE(unmap({{0, 1}}).is(0x07, 0x27, 0));
}

TEST_F(UnmapFixture, GetLbaStatus) {
  ASSERT_TRUE(run(cdb10(0x2A, 0, 300), pattern(300, 1)).good());
  ASSERT_TRUE(unmap({{0, 8}}).good());
  Result r = lba_status(0);
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 24u);
  EXPECT_EQ(load_be32(&r.data[0]), 20u);
  EXPECT_EQ(load_be64(&r.data[8]), 0u);
  EXPECT_EQ(load_be32(&r.data[16]), 8u);
  EXPECT_EQ(r.data[20], 0x01);  // deallocated
  r = lba_status(8);
  EXPECT_EQ(load_be64(&r.data[8]), 8u);
  EXPECT_EQ(r.data[20], 0x00);  // mapped
  EXPECT_EQ(load_be32(&r.data[16]), 292u);
  r = lba_status(0, 1024);
  EXPECT_EQ(load_be32(&r.data[0]), 4u + 3 * 16);  // dealloc, mapped, dealloc to end
  for (uint64_t i = 1; i <= 256; ++i) EXPECT_TRUE(lba_status(kBlocks - i).good());
}

TEST_F(UnmapFixture, GetLbaStatusBeyondEol) {
  EXPECT_TRUE(lba_status(kBlocks + 1).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(lba_status(kBlocks).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(lba_status(0x8000000000000000ull).is(kIllegal, 0x21, 0));
  EXPECT_TRUE(lba_status(0xFFFFFFFFFFFFFFFFull).is(kIllegal, 0x21, 0));
}

TEST_F(UnmapFixture, GetLbaStatusSmallAllocation) {
  Result r = lba_status(0, 8);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 8u);
  r = lba_status(0, 0);
  ASSERT_TRUE(r.good());
  EXPECT_TRUE(r.data.empty());
}

}  // namespace
}  // namespace scsipub::scsi::testing
