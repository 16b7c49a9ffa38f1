#include "common/lazy_fifo.h"

#include <gtest/gtest.h>

#include <deque>

namespace scsipub {
namespace {

TEST(LazyFifo, EmptyQueueHoldsNoMemory) {
  LazyFifo<uint32_t> q;
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.holds_memory());
  q.push_back(7);
  EXPECT_TRUE(q.holds_memory());
  EXPECT_EQ(q.front(), 7u);
  q.pop_front();
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.holds_memory());  // drained: the storage is given back
}

// Interleaved pushes and pops across the compaction point keep FIFO order,
// checked against std::deque.
TEST(LazyFifo, KeepsOrderLikeADeque) {
  LazyFifo<uint32_t> q;
  std::deque<uint32_t> ref;
  uint32_t next = 0;
  for (int round = 0; round < 200; ++round) {
    int pushes = (round * 7) % 11;
    int pops = (round * 5) % 9;
    for (int i = 0; i < pushes; ++i) {
      q.push_back(next);
      ref.push_back(next);
      ++next;
    }
    for (int i = 0; i < pops && !ref.empty(); ++i) {
      ASSERT_FALSE(q.empty());
      ASSERT_EQ(q.front(), ref.front());
      q.pop_front();
      ref.pop_front();
    }
    ASSERT_EQ(q.size(), ref.size());
  }
  while (!ref.empty()) {
    ASSERT_EQ(q.front(), ref.front());
    q.pop_front();
    ref.pop_front();
  }
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.holds_memory());
}

}  // namespace
}  // namespace scsipub
