// Limits a stranger meets inside one connection: a refusal decided at accept,
// the server-wide session limit, and the counters behind /metrics.
#include <gtest/gtest.h>

#include "session/harness.h"

namespace scsipub::iscsi::testing {
namespace {

class LimitsTest : public SessionTest {
 protected:
  ConnectionConfig counted() {
    ConnectionConfig cfg;
    cfg.limit_events = &events;
    return cfg;
  }
  LimitEvents events;
};

TEST_F(LimitsTest, RefusedConnectionAnswersItsFirstLoginWith0302) {
  auto ini = make();
  ini->conn().refuse_login({login_status::kTargetError, login_status::kOutOfResources});
  auto pdus = ini->login();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::login_response);
  EXPECT_EQ(pdus[0].login().status_class(), login_status::kTargetError);
  EXPECT_EQ(pdus[0].login().status_detail(), login_status::kOutOfResources);
  EXPECT_TRUE(ini->conn().closing());
  EXPECT_EQ(targets.binds, 0);
  EXPECT_EQ(registry.size(), 0u);
}

TEST_F(LimitsTest, SessionLimitRefusesTheNextLoginUntilOneLogsOut) {
  ConnectionConfig cfg = counted();
  cfg.max_sessions = 1;
  auto first = make(cfg);
  first->login();
  ASSERT_TRUE(first->conn().logged_in());

  auto second = make(cfg, "192.0.2.11");
  auto pdus = second->login();
  ASSERT_FALSE(pdus.empty());
  EXPECT_EQ(pdus.back().login().status_class(), login_status::kTargetError);
  EXPECT_EQ(pdus.back().login().status_detail(), login_status::kOutOfResources);
  EXPECT_FALSE(second->conn().logged_in());
  EXPECT_EQ(events.count(Limit::sessions_total), 1u);

  first->destroy();
  auto third = make(cfg, "192.0.2.12");
  third->login();
  EXPECT_TRUE(third->conn().logged_in());
}

TEST_F(LimitsTest, SlowLoginAndSilentPeerAreCounted) {
  ConnectionConfig cfg = counted();
  cfg.login_timeout = 1000ms;
  cfg.nop_interval = 1000ms;
  cfg.nop_timeout = 1000ms;
  auto slow = make(cfg);
  slow->advance(1000ms);
  slow->tick();
  EXPECT_EQ(slow->conn().close_reason(), CloseReason::login_timeout);
  EXPECT_EQ(events.count(Limit::login_timeout), 1u);

  auto silent = make(cfg, "192.0.2.11");
  silent->login_ready();
  silent->advance(1000ms);
  silent->tick();  // sends the NOP-In ping
  silent->recv();
  silent->advance(1000ms);
  silent->tick();
  EXPECT_EQ(silent->conn().close_reason(), CloseReason::nop_timeout);
  EXPECT_EQ(events.count(Limit::nop_timeout), 1u);
}

TEST_F(LimitsTest, CommandsOutsideTheWindowAndOverlongGapsAreCounted) {
  ConnectionConfig cfg = counted();
  cfg.max_stash_bytes = 4 * kBhsSize;
  auto ini = make(cfg);
  ini->login_ready();
  Command far;
  far.cdb = tur_cdb();
  far.cmd_sn = ini->cmd_sn + 100000;
  ini->command(far);
  EXPECT_TRUE(ini->recv().empty());
  EXPECT_EQ(events.count(Limit::command_window), 1u);
  EXPECT_FALSE(ini->conn().closing());

  // Behind a missing CmdSN, at most max_stash_bytes wait; then the connection ends.
  for (uint32_t i = 1; i <= 5 && !ini->conn().closing(); ++i) {
    Command c;
    c.itt = 0x200 + i;
    c.cdb = tur_cdb();
    c.cmd_sn = ini->cmd_sn + i;
    ini->command(c);
  }
  EXPECT_TRUE(ini->conn().closing());
  EXPECT_EQ(events.count(Limit::command_gap), 1u);
}

}  // namespace
}  // namespace scsipub::iscsi::testing
