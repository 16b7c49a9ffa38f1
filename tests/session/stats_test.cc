// What a session tells the operator and the metrics: per-session counters,
// LUNs, login outcomes, refused logins, ended sessions folded into the
// totals, and the operator's end-session hook — driven through Connection.
#include <gtest/gtest.h>

#include "iscsi/login_journal.h"
#include "iscsi/traffic_metrics.h"
#include "session/harness.h"

namespace scsipub::iscsi::testing {
namespace {

TEST_F(SessionTest, CountersFollowReadsAndWrites) {
  auto ini = make();
  ini->login_ready();
  ini->write10(10, pattern(8 * kBlockSize, 3), 0x20);
  ini->write10(40, pattern(2 * kBlockSize, 4), 0x21);
  ini->read10(10, 8, 0x22);

  auto live = registry.snapshot();
  ASSERT_EQ(live.size(), 1u);
  const SessionRecord& r = live[0];
  ASSERT_NE(r.details.counters, nullptr);
  TrafficTotals t = TrafficTotals::of(*r.details.counters);
  EXPECT_EQ(t.write_commands, 2u);
  EXPECT_EQ(t.write_bytes, 10u * kBlockSize);
  EXPECT_EQ(t.read_commands, 1u);  // TEST UNIT READY moves no data and carries neither bit
  EXPECT_EQ(t.read_bytes, 8u * kBlockSize);
  EXPECT_EQ(r.luns, std::vector<uint32_t>{0});
  EXPECT_EQ(r.details.kind, "disk");
  EXPECT_FALSE(r.details.tls);
  EXPECT_GT(r.details.since.time_since_epoch().count(), 0);
}

TEST_F(SessionTest, LoginOutcomesAndEndedSessionsReachTheMetrics) {
  TrafficMetrics traffic;
  ConnectionConfig cfg;
  cfg.traffic = &traffic;
  {
    auto ini = make(cfg);
    ini->login_ready();
    ini->write10(0, pattern(4 * kBlockSize, 1), 0x30);
    auto live = traffic.snapshot(registry.snapshot());
    ASSERT_EQ(live.traffic.size(), 1u);
    EXPECT_EQ(live.traffic[0].totals.write_bytes, 4u * kBlockSize);  // live sessions count too
    EXPECT_TRUE(live.durations.empty());
  }
  {
    auto refused = make(cfg);
    refused->login({}, "iqn.2025-01.test:nope");
  }
  auto s = traffic.snapshot(registry.snapshot());
  ASSERT_EQ(s.traffic.size(), 1u);
  EXPECT_EQ(s.traffic[0].kind, "disk");
  EXPECT_EQ(s.traffic[0].totals.write_bytes, 4u * kBlockSize);  // folded in at the end
  ASSERT_EQ(s.logins.size(), 2u);
  EXPECT_EQ(s.logins[0].kind, "disk");
  EXPECT_EQ(s.logins[0].status_class, login_status::kSuccess);
  EXPECT_EQ(s.logins[1].kind, "unknown");
  EXPECT_EQ(s.logins[1].status_class, login_status::kInitiatorError);
  ASSERT_EQ(s.durations.size(), 1u);
  EXPECT_EQ(s.durations[0].count, 1u);
}

TEST_F(SessionTest, RefusedLoginsLandInTheJournalFoldedByTarget) {
  LoginJournal journal;
  ConnectionConfig cfg;
  cfg.login_journal = &journal;
  for (int i = 0; i < 3; ++i) {
    auto ini = make(cfg);
    ini->initiator_name = "iqn.2026-12.test:<script>x</script>";
    ini->login({}, "iqn.2025-01.test:nope");
  }
  auto ok = make(cfg);
  ok->login_ready();
  auto recent = journal.recent();
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].target_name, "iqn.2025-01.test:nope");
  EXPECT_EQ(recent[0].initiator_name, "iqn.2026-12.test:<script>x</script>");  // raw: escaping is the renderer's
  EXPECT_EQ(recent[0].reason, "unknown target");
  EXPECT_EQ(recent[0].repeats, 2u);
  EXPECT_EQ(journal.total(), 3u);
}

TEST_F(SessionTest, OperatorEndSessionReachesTheConnectionsHook) {
  auto ini = make();
  std::vector<uint16_t> asked;
  ini->conn().set_end_session([&](uint16_t seconds) { asked.push_back(seconds); });
  ini->login_ready();
  auto rec = registry.get(ini->conn().session_id());
  ASSERT_TRUE(rec.has_value());
  ASSERT_TRUE(rec->details.end);
  rec->details.end(3);
  EXPECT_EQ(asked, std::vector<uint16_t>{3});
  // What the hook does on a live connection: an Async Message asking for logout.
  ini->conn().request_logout(3);
  auto pdus = only(ini->recv(), Opcode::async_message);
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].async().async_event(), 1);  // logout requested (RFC 7143 11.9.1)
  EXPECT_EQ(pdus[0].async().parameter3(), 3);   // seconds to log out
}

}  // namespace
}  // namespace scsipub::iscsi::testing
