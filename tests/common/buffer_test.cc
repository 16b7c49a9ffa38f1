#include "common/buffer.h"

#include <gtest/gtest.h>

namespace scsipub {

TEST(Buffer, PrepareZeroedClearsReusedBytes) {
  Buffer b;
  b.prepare(16)[3] = 7;
  uint8_t* p = b.prepare_zeroed(16);
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(p[i], 0) << i;
}

TEST(Buffer, KeepsCapacityAcrossUses) {
  Buffer b;
  b.prepare(4096);
  const uint8_t* first = b.data();
  b.prepare(100);
  EXPECT_EQ(b.data(), first);
  EXPECT_EQ(b.size(), 100u);
}

TEST(Buffer, ResizeKeepsPrefixAndZeroesTail) {
  Buffer b;
  b.prepare(2)[0] = 1;
  b.data()[1] = 2;
  b.resize(4000);
  EXPECT_EQ(b.data()[0], 1);
  EXPECT_EQ(b.data()[1], 2);
  EXPECT_EQ(b.data()[3999], 0);
}

TEST(Buffer, ShrinkDropsLargeAllocation) {
  Buffer b;
  b.prepare(1 << 20);
  b.shrink_to(64 << 10);
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_TRUE(b.empty());
}

}  // namespace scsipub
