#include "iscsi/traffic_metrics.h"

#include <gtest/gtest.h>

namespace scsipub::iscsi {
namespace {

using namespace std::chrono_literals;

SessionDetails ended(std::string kind, std::string image, uint64_t read_bytes, std::chrono::seconds lasted,
                     std::chrono::steady_clock::time_point now) {
  SessionDetails d;
  d.kind = std::move(kind);
  d.image = std::move(image);
  d.started = now - lasted;
  d.counters = std::make_shared<SessionCounters>();
  d.counters->add_read(read_bytes);
  return d;
}

TEST(TrafficMetricsTest, FoldsEndedSessionsByKindAndImage) {
  TrafficMetrics m;
  auto now = std::chrono::steady_clock::now();
  m.retire(ended("image", "alpha", 100, 5s, now), now);
  m.retire(ended("image", "alpha", 50, 5s, now), now);
  m.retire(ended("image", "beta", 7, 5s, now), now);
  m.retire(ended("blank", "", 1, 5s, now), now);
  m.retire(SessionDetails{}, now);  // never logged in: ignored
  auto s = m.snapshot({});
  ASSERT_EQ(s.traffic.size(), 3u);
  EXPECT_EQ(s.traffic[0].kind, "blank");
  EXPECT_EQ(s.traffic[1].image, "alpha");
  EXPECT_EQ(s.traffic[1].totals.read_bytes, 150u);
  EXPECT_EQ(s.traffic[1].totals.read_commands, 2u);
  EXPECT_EQ(s.traffic[2].image, "beta");
}

TEST(TrafficMetricsTest, DurationHistogramPutsEachSessionInItsBucket) {
  TrafficMetrics m;
  auto now = std::chrono::steady_clock::now();
  m.retire(ended("blank", "", 0, 0s, now), now);       // <= 1
  m.retire(ended("blank", "", 0, 30s, now), now);      // <= 60
  m.retire(ended("blank", "", 0, 700000s, now), now);  // past the last bound: only +Inf
  auto s = m.snapshot({});
  ASSERT_EQ(s.durations.size(), 1u);
  const auto& h = s.durations[0];
  EXPECT_EQ(h.count, 3u);
  EXPECT_EQ(h.buckets[0], 1u);
  EXPECT_EQ(h.buckets[2], 1u);
  uint64_t in_buckets = 0;
  for (auto b : h.buckets) in_buckets += b;
  EXPECT_EQ(in_buckets, 2u);
  EXPECT_NEAR(h.sum_seconds, 700030.0, 1.0);
}

TEST(TrafficMetricsTest, LoginsCountByKindAndClass) {
  TrafficMetrics m;
  m.count_login("blank", 0);
  m.count_login("blank", 0);
  m.count_login("", 2);
  auto s = m.snapshot({});
  ASSERT_EQ(s.logins.size(), 2u);
  EXPECT_EQ(s.logins[0].kind, "blank");
  EXPECT_EQ(s.logins[0].count, 2u);
  EXPECT_EQ(s.logins[1].kind, "unknown");
}

}  // namespace
}  // namespace scsipub::iscsi
