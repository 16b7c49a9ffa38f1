#include "control/log_throttle.h"

#include <gtest/gtest.h>

#include <string>

namespace scsipub::control {
namespace {

using namespace std::chrono_literals;
using Clock = LogThrottle::Clock;

TEST(LogThrottle, FirstWarnsThenOncePerInterval) {
  LogThrottle t;
  const Clock::time_point t0{};
  EXPECT_TRUE(t.on_event("10.0.0.1", "iqn.x:gone", t0).warn);
  // A stale initiator retrying every 3 seconds.
  for (auto dt = 3s; dt < 300s; dt += 3s) {
    EXPECT_FALSE(t.on_event("10.0.0.1", "iqn.x:gone", t0 + dt).warn) << dt.count();
  }
  auto d = t.on_event("10.0.0.1", "iqn.x:gone", t0 + 300s);
  EXPECT_TRUE(d.warn);
  EXPECT_EQ(d.suppressed, 99u);
  EXPECT_FALSE(t.on_event("10.0.0.1", "iqn.x:gone", t0 + 301s).warn);
  EXPECT_FALSE(t.on_event("10.0.0.1", "iqn.x:gone", t0 + 599s).warn);
  EXPECT_TRUE(t.on_event("10.0.0.1", "iqn.x:gone", t0 + 600s).warn);
}

TEST(LogThrottle, KeysAreIndependent) {
  LogThrottle t;
  const Clock::time_point t0{};
  EXPECT_TRUE(t.on_event("10.0.0.1", "a", t0).warn);
  EXPECT_TRUE(t.on_event("10.0.0.2", "a", t0).warn);
  EXPECT_TRUE(t.on_event("10.0.0.1", "b", t0).warn);
  EXPECT_FALSE(t.on_event("10.0.0.1", "a", t0 + 1s).warn);
  // The separator keeps ("1.2", "3x") and ("1.23", "x") apart.
  EXPECT_TRUE(t.on_event("1.2", "3x", t0).warn);
  EXPECT_TRUE(t.on_event("1.23", "x", t0).warn);
}

TEST(LogThrottle, QuietKeysAreForgotten) {
  LogThrottle t;
  const Clock::time_point t0{};
  t.on_event("10.0.0.1", "a", t0);
  t.on_event("10.0.0.2", "a", t0 + 100s);
  EXPECT_EQ(t.size(), 2u);
  t.on_event("10.0.0.3", "a", t0 + 350s);  // first key quiet for 350s: dropped
  EXPECT_EQ(t.size(), 2u);
  t.on_event("10.0.0.3", "a", t0 + 1000s);
  EXPECT_EQ(t.size(), 1u);
}

TEST(LogThrottle, TableSizeIsCapped) {
  LogThrottle t({.interval = 300s, .max_keys = 4});
  const Clock::time_point t0{};
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(t.on_event("10.0.0." + std::to_string(i), "a", t0 + std::chrono::seconds(i)).warn);
    EXPECT_LE(t.size(), 4u);
  }
  // The most recent keys are still throttled; the evicted ones warn again.
  EXPECT_FALSE(t.on_event("10.0.0.99", "a", t0 + 100s).warn);
  EXPECT_TRUE(t.on_event("10.0.0.0", "a", t0 + 100s).warn);
}

TEST(LogThrottle, RecentlySeenKeysSurviveEviction) {
  LogThrottle t({.interval = 300s, .max_keys = 2});
  const Clock::time_point t0{};
  t.on_event("stale", "t", t0);
  t.on_event("other", "t", t0 + 1s);
  t.on_event("stale", "t", t0 + 2s);  // seen again: now the most recent
  t.on_event("new", "t", t0 + 3s);    // evicts "other"
  EXPECT_FALSE(t.on_event("stale", "t", t0 + 4s).warn);
  EXPECT_TRUE(t.on_event("other", "t", t0 + 5s).warn);
}

TEST(LogThrottle, HugeKeysAreTruncated) {
  LogThrottle t;
  const Clock::time_point t0{};
  std::string long_a(1000, 'a');
  std::string long_b = long_a + "b";
  EXPECT_TRUE(t.on_event("ip", long_a, t0).warn);
  EXPECT_FALSE(t.on_event("ip", long_b, t0).warn);  // same first 255 bytes: same key
}

}  // namespace
}  // namespace scsipub::control
