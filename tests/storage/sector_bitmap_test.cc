#include "storage/sector_bitmap.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace scsipub::storage {
namespace {

// Reference run length, bit by bit.
uint64_t naive_run(const std::vector<bool>& m, uint64_t first, uint64_t max_len) {
  uint64_t n = 0;
  while (first + n < m.size() && n < max_len && m[first + n] == m[first]) ++n;
  return n;
}

TEST(SectorBitmap, StartsClear) {
  SectorBitmap b(130);
  EXPECT_EQ(b.size(), 130u);
  EXPECT_EQ(b.count_set(), 0u);
  EXPECT_EQ(b.run_length(0, 1000), 130u);
  EXPECT_EQ(b.words().size(), 3u);
}

TEST(SectorBitmap, SetAndClearReportChangedBits) {
  SectorBitmap b(200);
  EXPECT_EQ(b.set_range(10, 100), 100u);
  EXPECT_EQ(b.set_range(50, 100), 40u);  // 110..149 new
  EXPECT_EQ(b.count_set(), 140u);
  EXPECT_EQ(b.clear_range(0, 20), 10u);
  EXPECT_EQ(b.count_set(0, 64), 44u);
  EXPECT_EQ(b.set_range(0, 0), 0u);
}

TEST(SectorBitmap, RunsAcrossWordBoundaries) {
  SectorBitmap b(256);
  b.set_range(60, 10);  // 60..69 spans words 0 and 1
  EXPECT_EQ(b.run_length(0, 256), 60u);
  EXPECT_EQ(b.run_length(60, 256), 10u);
  EXPECT_EQ(b.run_length(63, 256), 7u);
  EXPECT_EQ(b.run_length(64, 256), 6u);
  EXPECT_EQ(b.run_length(70, 256), 186u);
  b.set_range(64, 128);  // word 1..2 fully set from 64
  EXPECT_EQ(b.run_length(60, 256), 132u);
  EXPECT_EQ(b.run_length(61, 3), 3u);  // capped by max_len
}

TEST(SectorBitmap, LastPartialWordNeverRunsPastSize) {
  SectorBitmap b(100);  // last word holds 36 bits
  EXPECT_EQ(b.run_length(99, 50), 1u);
  b.set_range(90, 10);
  EXPECT_EQ(b.run_length(90, 1000), 10u);
  EXPECT_EQ(b.run_length(95, 1000), 5u);
  EXPECT_EQ(b.run_length(100, 10), 0u);
  EXPECT_EQ(b.words()[1] >> 36, 0u);  // padding untouched
  EXPECT_EQ(b.run_length(5, 0), 0u);
}

TEST(SectorBitmap, ExactlyOneWordAndFullWords) {
  SectorBitmap b(64);
  b.set_range(0, 64);
  EXPECT_EQ(b.run_length(0, 1000), 64u);
  EXPECT_EQ(b.count_set(), 64u);
  EXPECT_EQ(b.clear_range(63, 1), 1u);
  EXPECT_EQ(b.run_length(0, 1000), 63u);
  EXPECT_EQ(b.run_length(63, 1000), 1u);
}

TEST(SectorBitmap, ClearPaddingDropsStrayBits) {
  SectorBitmap b(70);
  b.mutable_words()[1] = ~uint64_t{0};
  b.clear_padding();
  EXPECT_EQ(b.count_set(), 6u);
  EXPECT_EQ(b.run_length(64, 100), 6u);
}

TEST(SectorBitmap, RandomOperationsMatchModel) {
  std::mt19937_64 rng(42);
  const uint64_t bits = 1000;
  SectorBitmap b(bits);
  std::vector<bool> model(bits, false);
  for (int i = 0; i < 2000; ++i) {
    uint64_t first = rng() % bits;
    uint64_t count = rng() % (bits - first + 1);
    bool set = rng() % 2;
    uint64_t expect_changed = 0;
    for (uint64_t k = first; k < first + count; ++k) {
      if (model[k] != set) ++expect_changed;
      model[k] = set;
    }
    EXPECT_EQ(set ? b.set_range(first, count) : b.clear_range(first, count), expect_changed);
    uint64_t probe = rng() % bits;
    uint64_t max_len = rng() % 300 + 1;
    ASSERT_EQ(b.test(probe), model[probe]);
    ASSERT_EQ(b.run_length(probe, max_len), naive_run(model, probe, max_len)) << "probe " << probe;
  }
}

}  // namespace
}  // namespace scsipub::storage
