// SnapshotCell: readers on several threads while the writer keeps replacing
// the value. Every value a reader sees must be whole (all elements equal) and
// alive (AddressSanitizer reports a read of a freed value), and replaced
// values are freed once readers have left.
#include "common/snapshot_cell.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace scsipub {
namespace {

std::vector<uint64_t> value_of(uint64_t generation) { return std::vector<uint64_t>(64, generation); }

TEST(SnapshotCell, ReadersSeeWholeLiveValuesWhileTheWriterReplacesThem) {
  SnapshotCell<std::vector<uint64_t>> cell(value_of(0));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> torn{0}, reads{0}, backwards{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      uint64_t last = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const uint64_t g = cell.read([&](const std::vector<uint64_t>& v) {
          for (uint64_t x : v)
            if (x != v.front()) torn.fetch_add(1);
          return v.front();
        });
        if (g < last) backwards.fetch_add(1);
        last = g;
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  // At least 2000 replacements, and on until the readers have read 10 000
  // times meanwhile (bounded: a starved reader fails the test, not hangs it).
  uint64_t g = 0;
  while (g < 200000 && (g < 2000 || reads.load() < 10000)) cell.publish(value_of(++g));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_EQ(backwards.load(), 0u);
  EXPECT_GE(reads.load(), 10000u);
  EXPECT_EQ(cell.read([](const std::vector<uint64_t>& v) { return v.front(); }), g);
  // No reader left: the next publish frees everything replaced so far.
  cell.publish(value_of(g + 1));
  EXPECT_EQ(cell.retired(), 0u);
}

TEST(SnapshotCell, AReaderInsideKeepsItsValueAlive) {
  SnapshotCell<std::vector<uint64_t>> cell(value_of(1));
  std::atomic<bool> inside{false}, go{false};
  std::thread reader([&] {
    cell.read([&](const std::vector<uint64_t>& v) {
      inside = true;
      while (!go.load()) std::this_thread::yield();
      EXPECT_EQ(v.front(), 1u);  // still the value it started with, still alive
      return 0;
    });
  });
  while (!inside.load()) std::this_thread::yield();
  cell.publish(value_of(2));
  EXPECT_EQ(cell.retired(), 1u);  // the reader holds it: not freed
  go = true;
  reader.join();
  cell.publish(value_of(3));
  EXPECT_EQ(cell.retired(), 0u);
}

// A reader that stays inside holds its value; the writer leaves replaced
// values behind until it holds eight, then waits for that reader rather than
// keep growing the list.
TEST(SnapshotCell, AWriterHoldingManyReplacedValuesWaitsForTheReadersInside) {
  SnapshotCell<std::vector<uint64_t>> cell(value_of(0));
  std::atomic<bool> inside{false}, go{false};
  std::thread reader([&] {
    cell.read([&](const std::vector<uint64_t>& v) {
      inside = true;
      while (!go.load()) std::this_thread::yield();
      EXPECT_EQ(v.front(), 0u);
      return 0;
    });
  });
  while (!inside.load()) std::this_thread::yield();
  for (uint64_t g = 1; g < 8; ++g) cell.publish(value_of(g));
  EXPECT_EQ(cell.retired(), 7u);
  std::atomic<bool> published{false};
  std::thread writer([&] {
    cell.publish(value_of(8));
    published = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(published.load());  // waiting for the reader inside
  go = true;
  reader.join();
  writer.join();
  EXPECT_TRUE(published.load());
  EXPECT_EQ(cell.retired(), 0u);
}

// Readers whose sections overlap without a break (the counter is never zero)
// cannot make the writer keep every replaced value.
TEST(SnapshotCell, OverlappingReadersDoNotGrowTheReplacedList) {
  SnapshotCell<std::vector<uint64_t>> cell(value_of(0));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        cell.read([&](const std::vector<uint64_t>& v) {
          // Long enough that another reader is usually inside too.
          uint64_t sum = 0;
          for (int i = 0; i < 200; ++i) sum += v[static_cast<size_t>(i) % v.size()];
          return sum;
        });
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  size_t most = 0;
  for (uint64_t g = 1; g <= 2000; ++g) {
    cell.publish(value_of(g));
    most = std::max(most, cell.retired());
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_LT(most, 8u);
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace scsipub
