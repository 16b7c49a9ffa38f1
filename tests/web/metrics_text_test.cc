#include "web/metrics_text.h"

#include <gtest/gtest.h>

namespace scsipub::web {
namespace {

TEST(MetricsTextTest, LabelValuesAreEscaped) {
  EXPECT_EQ(prometheus_label("alpha"), "alpha");
  EXPECT_EQ(prometheus_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(MetricsTextTest, RedirectSeriesArePresentBeforeAnyRedirect) {
  LimitEvents events;
  ServerGauges g;
  g.traffic = iscsi::TrafficMetrics::Snapshot{};
  std::string text = metrics_text(events, g);
  EXPECT_NE(text.find("scsipub_login_redirects_total{kind=\"disk\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("scsipub_login_redirects_total{kind=\"free\"} 0\n"), std::string::npos);
}

TEST(MetricsTextTest, KeptFreeDisksAreAGauge) {
  LimitEvents events;
  ServerGauges g;
  g.retained_free_disks = 3;
  std::string text = metrics_text(events, g);
  EXPECT_NE(text.find("# TYPE scsipub_retained_free_disks gauge\nscsipub_retained_free_disks 3\n"), std::string::npos);
}

TEST(MetricsTextTest, SchemaVersionNowAndAtStart) {
  LimitEvents events;
  ServerGauges g;
  EXPECT_EQ(metrics_text(events, g).find("scsipub_metadata_schema"), std::string::npos);
  g.schema = ServerGauges::Schema{6, 4};
  std::string text = metrics_text(events, g);
  EXPECT_NE(text.find("# TYPE scsipub_metadata_schema_version gauge\nscsipub_metadata_schema_version 6\n"),
            std::string::npos);
  EXPECT_NE(text.find("scsipub_metadata_schema_version_at_start 4\n"), std::string::npos);
}

TEST(MetricsTextTest, FleetRowsPerNodeAndLeaseCounts) {
  LimitEvents events;
  ServerGauges g;
  EXPECT_EQ(metrics_text(events, g).find("scsipub_fleet"), std::string::npos) << "a single node has no fleet rows";
  ServerGauges::Fleet f;
  f.connected = true;
  f.nodes.push_back({"node-a", true, 0.25, 12});
  f.nodes.push_back({"node-\"b", false, 61, 0});
  f.leases_held_here = 2;
  f.leases_owned = 5;
  f.leases_unowned = 1;
  g.fleet = f;
  const std::string text = metrics_text(events, g);
  for (const char* line : {"scsipub_fleet_connected 1\n", "scsipub_fleet_node_alive{node=\"node-a\"} 1\n",
                           "scsipub_fleet_node_alive{node=\"node-\\\"b\"} 0\n",
                           "scsipub_fleet_node_heartbeat_age_seconds{node=\"node-a\"} 0.250\n",
                           "scsipub_fleet_node_sessions{node=\"node-a\"} 12\n", "scsipub_fleet_leases_held 2\n",
                           "scsipub_fleet_leases_owned 5\n", "scsipub_fleet_leases_unowned 1\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
}

TEST(MetricsTextTest, StorageSweepCountersOnlyWhileASweepRuns) {
  LimitEvents events;
  ServerGauges g;
  EXPECT_EQ(metrics_text(events, g).find("scsipub_storage_"), std::string::npos) << "local storage: no sweep";
  g.storage_sweep = ServerGauges::StorageSweep{7, 3};
  const std::string text = metrics_text(events, g);
  EXPECT_NE(text.find("# TYPE scsipub_storage_sweeps_total counter\nscsipub_storage_sweeps_total 7\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE scsipub_storage_orphans_removed_total counter\nscsipub_storage_orphans_removed_total 3\n"),
            std::string::npos);
}

TEST(MetricsTextTest, TrafficIsLabelledByKindAndImageOnly) {
  LimitEvents events;
  ServerGauges g;
  iscsi::TrafficMetrics::Snapshot t;
  t.traffic.push_back({"image", "al\"pha", {1, 2, 3, 4}});
  t.logins.push_back({"blank", 2, 5});
  t.logins.push_back({"blank", 1, 6});
  t.logins.push_back({"image", 1, 1});
  t.logins.push_back({"disk", 1, 2});
  t.logins.push_back({"disk", 0, 9});
  iscsi::TrafficMetrics::Durations d;
  d.kind = "blank";
  d.buckets[0] = 1;
  d.buckets[3] = 2;
  d.count = 4;
  d.sum_seconds = 1000;
  t.durations.push_back(d);
  g.traffic = t;
  std::string text = metrics_text(events, g);
  EXPECT_NE(text.find("scsipub_read_bytes_total{kind=\"image\",image=\"al\\\"pha\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("scsipub_write_commands_total{kind=\"image\",image=\"al\\\"pha\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("scsipub_logins_total{kind=\"blank\",status_class=\"initiator_error\"} 5\n"), std::string::npos);
  // Redirected logins by disk / free tier, from the class 1 counts.
  EXPECT_NE(text.find("scsipub_login_redirects_total{kind=\"disk\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("scsipub_login_redirects_total{kind=\"free\"} 7\n"), std::string::npos);
  // Cumulative buckets, +Inf holds the sessions past the last bound too.
  EXPECT_NE(text.find("scsipub_session_duration_seconds_bucket{kind=\"blank\",le=\"1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("scsipub_session_duration_seconds_bucket{kind=\"blank\",le=\"300\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("scsipub_session_duration_seconds_bucket{kind=\"blank\",le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("scsipub_session_duration_seconds_count{kind=\"blank\"} 4\n"), std::string::npos);
  // Every counter family ends in _total (histograms aside).
  for (size_t pos = text.find("# TYPE "); pos != std::string::npos; pos = text.find("# TYPE ", pos + 1)) {
    std::string line = text.substr(pos, text.find('\n', pos) - pos);
    if (line.ends_with(" counter")) {
      EXPECT_NE(line.find("_total counter"), std::string::npos) << line;
    }
  }
}

}  // namespace
}  // namespace scsipub::web
