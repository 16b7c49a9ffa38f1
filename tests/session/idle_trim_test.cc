// What an idle session gives back: after a whole NOP-In interval without
// input, the command engine frees its pooled buffers; commands after that
// (and one still waiting for its Data-Out across the quiet spell) work as
// before.
#include <gtest/gtest.h>

#include "session/harness.h"

namespace scsipub::iscsi::testing {
namespace {

TEST_F(SessionTest, AQuietSessionFreesItsPooledBuffers) {
  ConnectionConfig config;
  auto ini = make(config);
  ini->login_ready();
  const auto data = pattern(8 * kBlockSize, 0x5a);
  ASSERT_EQ(status_of(ini->write10(10, data, 0x20), 0x20), 0);
  ASSERT_EQ(ini->read10(10, 8, 0x21), data);
  EXPECT_GE(ini->conn().pooled_buffers(), 1u);  // kept for the next command

  // Not yet a whole interval: nothing changes.
  ini->advance(config.nop_interval / 2);
  ini->tick();
  EXPECT_GE(ini->conn().pooled_buffers(), 1u);
  EXPECT_TRUE(only(ini->recv(), Opcode::nop_in).empty());

  ini->advance(config.nop_interval);
  ini->tick();
  EXPECT_EQ(ini->conn().pooled_buffers(), 0u);
  EXPECT_EQ(only(ini->recv(), Opcode::nop_in).size(), 1u);  // the ping goes out as before

  // The next commands allocate afresh and move the same bytes.
  ASSERT_EQ(ini->read10(10, 8, 0x22), data);
  const auto more = pattern(16 * kBlockSize, 0x77);
  ASSERT_EQ(status_of(ini->write10(100, more, 0x23), 0x23), 0);
  EXPECT_EQ(ini->read10(100, 16, 0x24), more);
}

TEST_F(SessionTest, AWriteWaitingForDataOutSurvivesTheIdleTrim) {
  ConnectionConfig config;
  auto ini = make(config);
  ini->login_ready({{"InitialR2T", "Yes"}, {"ImmediateData", "No"}});
  const auto data = pattern(4 * kBlockSize, 0x3c);
  Command c;
  c.itt = 0x40;
  c.cdb = write10_cdb(300, 4);
  c.write = true;
  c.edtl = static_cast<uint32_t>(data.size());
  ini->command(c);
  auto r2ts = only(ini->recv(), Opcode::r2t);
  ASSERT_EQ(r2ts.size(), 1u);
  // The initiator goes quiet mid-command: the ping interval passes.
  ini->advance(config.nop_interval + std::chrono::milliseconds(1));
  ini->tick();
  ini->recv();
  ini->data_out(0x40, r2ts[0].ttt(), 0, 0, data);
  EXPECT_EQ(status_of(ini->recv(), 0x40), 0);
  EXPECT_EQ(ini->read10(300, 4, 0x41), data);
}

TEST_F(SessionTest, ReleasingTheLoginStateKeepsTheSessionWorking) {
  auto ini = make();
  ini->login_step(0, true, 1, {{"InitiatorName", kInitiatorName}, {"TargetName", kTarget},
                               {"SessionType", "Normal"}, {"AuthMethod", "None"}});
  ini->conn().release_login_state();  // still logging in: the negotiator stays
  ini->login_step(1, true, 3, Initiator::libiscsi_keys());
  ASSERT_TRUE(ini->full_feature);
  ini->conn().release_login_state();
  ini->conn().release_login_state();  // twice is harmless
  // The first command meets the POWER ON unit attention.
  EXPECT_EQ(status_of(ini->write10(0, pattern(2 * kBlockSize, 1), 0x30), 0x30), std::optional<uint8_t>(2));
  const auto data = pattern(2 * kBlockSize, 9);
  ASSERT_EQ(status_of(ini->write10(0, data, 0x31), 0x31), 0);
  EXPECT_EQ(ini->read10(0, 2, 0x32), data);
}

}  // namespace
}  // namespace scsipub::iscsi::testing
