#include "storage/read_only_store.h"

#include <gtest/gtest.h>

#include <vector>

#include "storage/memory_store.h"

namespace scsipub::storage {
namespace {

TEST(ReadOnlyStore, RefusesWritesAndPassesReads) {
  auto inner = std::make_shared<MemoryStore>(8);
  std::vector<uint8_t> data(512, 0x5a);
  ASSERT_EQ(inner->write(3, data), IoStatus::ok);
  ReadOnlyStore ro(inner);
  EXPECT_TRUE(ro.read_only());
  EXPECT_EQ(ro.block_count(), 8u);
  EXPECT_EQ(ro.write(0, data), IoStatus::write_protected);
  EXPECT_EQ(ro.unmap(0, 1), IoStatus::write_protected);
  std::vector<uint8_t> out(512);
  ASSERT_EQ(ro.read(3, out), IoStatus::ok);
  EXPECT_EQ(out, data);
  EXPECT_EQ(ro.flush(), IoStatus::ok);
  EXPECT_TRUE(ro.lba_status(3).mapped);
}

}  // namespace
}  // namespace scsipub::storage
