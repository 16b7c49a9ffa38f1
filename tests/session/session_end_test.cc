// The binding learns how its session ended, before it is destroyed: only a
// Logout is a clean end; a connection that fails or goes silent, one ended by
// a reinstating login, and TARGET COLD RESET are not (the control layer keeps
// a free disk for a reinstating login after those).
#include "session/harness.h"

namespace scsipub::iscsi::testing {
namespace {

constexpr uint8_t kTargetColdReset = 7;   // RFC 7143 11.5.1

TEST_F(SessionTest, LogoutEndsTheBindingAsLogout) {
  auto ini = make();
  ini->login_ready();
  ini->send(ini->logout_bhs(0x77, /*reason=*/0));
  ini->recv();
  EXPECT_TRUE(targets.ends.empty());  // not before the transport lets go
  ini->destroy();
  ASSERT_EQ(targets.ends.size(), 1u);
  EXPECT_EQ(targets.ends[0], SessionEnd::logout);
  EXPECT_EQ(targets.unbinds, 1);
}

TEST_F(SessionTest, AConnectionThatGoesAwayEndsTheBindingAsDropped) {
  auto ini = make();
  ini->login_ready();
  ini->write10(8, pattern(4096, 3), 0x20);
  ini->destroy();  // EOF or a reset: the transport just drops the connection
  ASSERT_EQ(targets.ends.size(), 1u);
  EXPECT_EQ(targets.ends[0], SessionEnd::dropped);
}

TEST_F(SessionTest, ASilentPeerEndsTheBindingAsDropped) {
  ConnectionConfig cfg;
  cfg.nop_interval = 1000ms;
  cfg.nop_timeout = 1000ms;
  auto ini = make(cfg);
  ini->login_ready();
  ini->advance(1000ms);
  ini->tick();  // the NOP-In ping
  ini->recv();
  ini->advance(1000ms);
  ini->tick();
  ASSERT_EQ(ini->conn().close_reason(), CloseReason::nop_timeout);
  ini->destroy();
  ASSERT_EQ(targets.ends.size(), 1u);
  EXPECT_EQ(targets.ends[0], SessionEnd::dropped);
}

TEST_F(SessionTest, AReinstatedSessionEndsItsBindingAsReinstated) {
  auto old = make();
  old->login_ready();
  auto again = make();  // same InitiatorName + ISID from the same address
  again->login_ready();
  EXPECT_EQ(old->terminated(), 1);  // the registry asked the old connection to go
  EXPECT_TRUE(targets.ends.empty());
  old->conn().close(CloseReason::reinstated);  // what the transport does on terminate
  old->destroy();
  ASSERT_EQ(targets.ends.size(), 1u);
  EXPECT_EQ(targets.ends[0], SessionEnd::reinstated);
  again->destroy();
  EXPECT_EQ(targets.ends.back(), SessionEnd::dropped);
}

TEST_F(SessionTest, TargetColdResetEndsTheBindingAsReset) {
  auto ini = make();
  ini->login_ready();
  ini->send(ini->tmf_bhs(0x60, kTargetColdReset, kReservedTag, ini->cmd_sn));
  ini->recv();
  ini->destroy();
  ASSERT_EQ(targets.ends.size(), 1u);
  EXPECT_EQ(targets.ends[0], SessionEnd::reset);
}

TEST_F(SessionTest, ADiscoverySessionHasNoBindingToTell) {
  auto ini = make();
  ini->login_discovery();
  ini->destroy();
  EXPECT_TRUE(targets.ends.empty());
}

}  // namespace
}  // namespace scsipub::iscsi::testing
