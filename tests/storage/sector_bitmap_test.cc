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
  EXPECT_EQ(b.page_count(), 1u);
  EXPECT_EQ(b.page_words(0), 3u);
  EXPECT_EQ(b.allocated_pages(), 0u);
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
  EXPECT_EQ(b.page(0)[1] >> 36, 0u);  // padding untouched
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

TEST(SectorBitmap, AssignPageDropsStrayBitsPastSize) {
  SectorBitmap b(70);
  const std::vector<uint64_t> words{0, ~uint64_t{0}};
  b.assign_page(0, words);
  EXPECT_EQ(b.count_set(), 6u);
  EXPECT_EQ(b.run_length(64, 100), 6u);
  SectorBitmap only_padding(70);
  const std::vector<uint64_t> stray{0, ~uint64_t{0} << 6};
  only_padding.assign_page(0, stray);
  EXPECT_EQ(only_padding.count_set(), 0u);
  EXPECT_EQ(only_padding.allocated_pages(), 0u);
}

TEST(SectorBitmap, ANeverSetMapHoldsNoPagesWhateverItsSize) {
  const uint64_t two_tib = (uint64_t{2} << 40) / 512;
  SectorBitmap b(two_tib);
  EXPECT_EQ(b.page_count(), two_tib / SectorBitmap::kPageBits);
  EXPECT_EQ(b.count_set(), 0u);
  EXPECT_EQ(b.run_length(0, two_tib), two_tib);
  EXPECT_EQ(b.clear_range(0, two_tib), 0u);
  EXPECT_FALSE(b.test(two_tib - 1));
  EXPECT_EQ(b.allocated_pages(), 0u);
}

TEST(SectorBitmap, PagesComeOnFirstSetAndGoWhenCleared) {
  const uint64_t bits = 10 * SectorBitmap::kPageBits + 100;
  SectorBitmap b(bits);
  EXPECT_EQ(b.set_range(SectorBitmap::kPageBits - 1, 2), 2u);  // straddles pages 0 and 1
  EXPECT_EQ(b.allocated_pages(), 2u);
  EXPECT_EQ(b.page(2), nullptr);
  EXPECT_EQ(b.set_range(bits - 3, 3), 3u);  // the short last page
  EXPECT_EQ(b.allocated_pages(), 3u);
  EXPECT_EQ(b.page_words(10), 2u);
  EXPECT_EQ(b.count_set(), 5u);
  // A run of zeros skips absent pages whole; a run of ones stops at one.
  EXPECT_EQ(b.run_length(SectorBitmap::kPageBits + 1, bits), bits - 3 - SectorBitmap::kPageBits - 1);
  EXPECT_EQ(b.run_length(SectorBitmap::kPageBits - 1, bits), 2u);
  EXPECT_EQ(b.clear_range(0, SectorBitmap::kPageBits), 1u);
  EXPECT_EQ(b.allocated_pages(), 2u);
  EXPECT_EQ(b.page(0), nullptr);
  EXPECT_EQ(b.clear_range(0, bits), 4u);
  EXPECT_EQ(b.allocated_pages(), 0u);
  EXPECT_EQ(b.run_length(0, bits), bits);
}

TEST(SectorBitmap, RangesPastTheEndAreClamped) {
  SectorBitmap b(100);
  EXPECT_EQ(b.set_range(90, 1000), 10u);
  EXPECT_EQ(b.set_range(100, 5), 0u);
  EXPECT_EQ(b.count_set(50, 1000), 10u);
  EXPECT_EQ(b.clear_range(95, 1000), 5u);
}

TEST(SectorBitmap, ClearBitsSetInAnotherMap) {
  const uint64_t bits = 3 * SectorBitmap::kPageBits;
  SectorBitmap a(bits), b(bits);
  a.set_range(0, bits);
  b.set_range(100, SectorBitmap::kPageBits);  // all of page 0 from 100, some of page 1
  b.set_range(0, 100);                          // so page 0 is wholly set in b
  a.clear_bits_set_in(b);
  EXPECT_EQ(a.count_set(), bits - SectorBitmap::kPageBits - 100);
  EXPECT_EQ(a.page(0), nullptr);  // emptied pages are freed
  EXPECT_EQ(a.allocated_pages(), 2u);
  EXPECT_FALSE(a.test(SectorBitmap::kPageBits + 99));
  EXPECT_TRUE(a.test(SectorBitmap::kPageBits + 100));
}

TEST(SectorBitmap, RunsCrossDirectoriesAndEmptyDirectoriesGo) {
  const uint64_t dir_bits = SectorBitmap::kDirPages * SectorBitmap::kPageBits;
  const uint64_t bits = 2 * dir_bits + 64;
  SectorBitmap b(bits);
  b.set_range(dir_bits - 10, 20);  // last page of directory 0, first of directory 1
  b.set_range(bits - 1, 1);        // the one-word directory 2
  EXPECT_EQ(b.allocated_pages(), 3u);
  EXPECT_EQ(b.run_length(dir_bits - 10, bits), 20u);
  EXPECT_EQ(b.run_length(dir_bits + 10, bits), bits - 1 - dir_bits - 10);
  EXPECT_EQ(b.run_length(0, bits), dir_bits - 10);
  EXPECT_EQ(b.count_set(0, bits), 21u);
  EXPECT_EQ(b.clear_range(dir_bits, dir_bits), 10u);
  EXPECT_EQ(b.allocated_pages(), 2u);
  EXPECT_EQ(b.run_length(dir_bits - 1, bits), 1u);
  EXPECT_EQ(b.run_length(dir_bits, bits), bits - 1 - dir_bits);
  EXPECT_EQ(b.clear_range(0, bits), 11u);
  EXPECT_EQ(b.allocated_pages(), 0u);
}

// Random operations against a dense reference model, on a map of a few pages
// with a short last page, with ranges that are mostly small (single words,
// page edges) and sometimes span every page.
TEST(SectorBitmap, PagedMapMatchesADenseModel) {
  std::mt19937_64 rng(7);
  const uint64_t bits = 5 * SectorBitmap::kPageBits + 1234;
  SectorBitmap b(bits);
  std::vector<bool> model(bits, false);
  uint64_t model_count = 0;
  // Keep the ranges near a few hot spots so runs of both kinds exist.
  const uint64_t spots[] = {0, SectorBitmap::kPageBits - 70, 3 * SectorBitmap::kPageBits - 5, bits - 2000};
  auto pick_first = [&] {
    uint64_t spot = spots[rng() % 4];
    return std::min(bits - 1, spot + rng() % 4000);
  };
  for (int i = 0; i < 3000; ++i) {
    const uint64_t first = pick_first();
    const uint64_t count = rng() % 32 == 0 ? rng() % (bits - first + 1) : rng() % 3000;
    const uint64_t end = std::min(bits, first + count);
    const int op = static_cast<int>(rng() % 3);
    if (op == 2) {
      uint64_t expect = 0;
      for (uint64_t k = first; k < end; ++k) expect += model[k];
      ASSERT_EQ(b.count_set(first, count), expect);
    } else {
      const bool set = op == 0;
      uint64_t expect_changed = 0;
      for (uint64_t k = first; k < end; ++k) {
        if (model[k] != set) ++expect_changed;
        model[k] = set;
      }
      model_count = set ? model_count + expect_changed : model_count - expect_changed;
      ASSERT_EQ(set ? b.set_range(first, count) : b.clear_range(first, count), expect_changed);
    }
    const uint64_t probe = pick_first();
    const uint64_t max_len = rng() % 32 == 0 ? bits : rng() % 5000 + 1;
    ASSERT_EQ(b.test(probe), model[probe]);
    ASSERT_EQ(b.run_length(probe, max_len), naive_run(model, probe, max_len)) << "probe " << probe;
  }
  ASSERT_EQ(b.count_set(), model_count);
  // Page accounting: exactly the pages holding a set bit are allocated.
  uint64_t pages_with_bits = 0;
  for (uint64_t p = 0; p < b.page_count(); ++p) {
    bool any = false;
    for (uint64_t k = p * SectorBitmap::kPageBits; k < std::min(bits, (p + 1) * SectorBitmap::kPageBits) && !any; ++k) {
      any = model[k];
    }
    pages_with_bits += any;
    ASSERT_EQ(b.page(p) != nullptr, any) << "page " << p;
  }
  EXPECT_EQ(b.allocated_pages(), pages_with_bits);
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
