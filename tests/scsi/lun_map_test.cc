// The one LUN map and the one LUN field codec (SAM-5 4.7).
#include "scsi/lun_map.h"

#include <gtest/gtest.h>

#include "scsi/lun_address.h"
#include "storage/memory_store.h"

namespace scsipub::scsi {
namespace {

std::shared_ptr<lu::LogicalUnit> unit() {
  return std::make_shared<lu::LogicalUnit>(std::make_shared<storage::MemoryStore>(8), lu::Identity{});
}

TEST(LunMapTest, KeepsLunsAscendingWhateverTheOrderOfAdding) {
  LunMap map;
  auto a = unit(), b = unit(), c = unit();
  map.add(300, a);
  map.add(0, b);
  map.add(7, c);
  EXPECT_EQ(std::vector<uint64_t>(map.luns().begin(), map.luns().end()), (std::vector<uint64_t>{0, 7, 300}));
  ASSERT_EQ(map.units().size(), 3u);
  EXPECT_EQ(map.units()[0], b);
  EXPECT_EQ(map.units()[2], a);
  EXPECT_EQ(map.find(300), a.get());
  EXPECT_EQ(map.find(7), c.get());
  EXPECT_EQ(map.find(1), nullptr);
  EXPECT_EQ(map.find(kInvalidLun), nullptr);
}

TEST(LunMapTest, AddingALunAgainReplacesItsUnit) {
  LunMap map;
  auto a = unit(), b = unit();
  map.add(0, a);
  map.add(0, b);
  EXPECT_EQ(map.luns().size(), 1u);
  EXPECT_EQ(map.find(0), b.get());
  EXPECT_EQ(a.use_count(), 1);
}

TEST(LunMapTest, ClearDropsTheReferences) {
  LunMap map;
  auto a = unit();
  map.add(0, a);
  map.clear();
  EXPECT_TRUE(map.luns().empty());
  EXPECT_EQ(map.find(0), nullptr);
  EXPECT_EQ(a.use_count(), 1);
}

TEST(LunAddressTest, PeripheralBelow256FlatSpaceAbove) {
  EXPECT_EQ(encode_lun(0), 0u);
  EXPECT_EQ(encode_lun(5), 0x0005'0000'0000'0000ull);
  EXPECT_EQ(encode_lun(255), 0x00ff'0000'0000'0000ull);
  EXPECT_EQ(encode_lun(256), 0x4100'0000'0000'0000ull);
  EXPECT_EQ(encode_lun(16383), 0x7fff'0000'0000'0000ull);
  for (uint64_t lun : std::vector<uint64_t>{0, 1, 255, 256, 1000, kLunLimit - 1}) EXPECT_EQ(decode_lun(encode_lun(lun)), lun);
}

TEST(LunAddressTest, FieldsNoTargetHasDecodeToInvalid) {
  EXPECT_EQ(decode_lun(0x0001'0000'0000'0001ull), kInvalidLun);  // second level
  EXPECT_EQ(decode_lun(0x0105'0000'0000'0000ull), kInvalidLun);  // peripheral, bus 1
  EXPECT_EQ(decode_lun(0x8000'0000'0000'0000ull), kInvalidLun);  // logical unit addressing
  EXPECT_EQ(decode_lun(0xc000'0000'0000'0000ull), kInvalidLun);  // extended addressing
  EXPECT_EQ(decode_lun(0x4005'0000'0000'0000ull), 5u);           // flat space may name small LUNs too
}

}  // namespace
}  // namespace scsipub::scsi
