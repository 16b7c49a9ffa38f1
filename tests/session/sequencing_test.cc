// Command numbering (RFC 7143 4.2.2.1, 3.2.2.1) and NOP keepalive (11.18,
// 11.19) through Connection, with a controllable clock.
#include <gtest/gtest.h>

#include "session/harness.h"

namespace scsipub::iscsi::testing {
namespace {

Command inquiry(uint32_t itt, std::optional<uint32_t> cmd_sn = std::nullopt, bool immediate = false) {
  Command c;
  c.itt = itt;
  c.cdb = inquiry_cdb(36);
  c.read = true;
  c.edtl = 36;
  c.cmd_sn = cmd_sn;
  c.immediate = immediate;
  return c;
}

std::vector<uint32_t> itts(const std::vector<Pdu>& pdus) {
  std::vector<uint32_t> out;
  for (const auto& p : pdus) out.push_back(p.itt());
  return out;
}

// ---------------------------------------------------------------- CmdSN

TEST_F(SessionTest, CommandAheadOfGapWaitsThenBothRunInOrder) {
  auto ini = make();
  ini->login_ready();
  uint32_t e = ini->cmd_sn;
  uint32_t stat_sn = ini->exp_stat_sn;
  ini->command(inquiry(2, e + 1));
  EXPECT_TRUE(ini->recv().empty());  // held behind the gap
  ini->command(inquiry(1, e));
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 2u);
  EXPECT_EQ(itts(pdus), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(pdus[0].stat_sn(), stat_sn);
  EXPECT_EQ(pdus[1].stat_sn(), stat_sn + 1);
  EXPECT_EQ(pdus[0].exp_cmd_sn(), e + 1);
  EXPECT_EQ(pdus[1].exp_cmd_sn(), e + 2);
}

TEST_F(SessionTest, SeveralStashedCommandsReplayInCmdSnOrder) {
  auto ini = make();
  ini->login_ready();
  uint32_t e = ini->cmd_sn;
  ini->command(inquiry(4, e + 3));
  ini->command(inquiry(2, e + 1));
  ini->command(inquiry(3, e + 2));
  EXPECT_TRUE(ini->recv().empty());
  ini->command(inquiry(1, e));
  EXPECT_EQ(itts(ini->recv()), (std::vector<uint32_t>{1, 2, 3, 4}));
}

TEST_F(SessionTest, DuplicateCmdSnIsDroppedSilently) {
  auto ini = make();
  ini->login_ready();
  uint32_t e = ini->cmd_sn;
  ini->command(inquiry(1, e));
  ASSERT_EQ(ini->recv().size(), 1u);
  ini->command(inquiry(2, e));      // already consumed
  ini->command(inquiry(3, e - 5));  // long gone
  EXPECT_TRUE(ini->recv().empty());
  EXPECT_FALSE(ini->conn().closing());
  // A duplicate of a stashed CmdSN does not replace or add to it.
  ini->command(inquiry(5, e + 2));
  ini->command(inquiry(6, e + 2));
  ini->command(inquiry(4, e + 1));
  EXPECT_EQ(itts(ini->recv()), (std::vector<uint32_t>{4, 5}));
}

TEST_F(SessionTest, CommandBeyondMaxCmdSnIsDropped) {
  ConnectionConfig cfg;
  cfg.cmd_window = 4;
  auto ini = make(cfg);
  ini->login_ready();
  uint32_t e = ini->cmd_sn;
  ini->send(ini->nop_out_bhs(0x10, kReservedTag, true));
  auto nop = ini->recv();
  ASSERT_EQ(nop.size(), 1u);
  EXPECT_EQ(nop[0].max_cmd_sn(), e + 3);
  ini->command(inquiry(5, e + 4));  // MaxCmdSN + 1
  ini->command(inquiry(4, e + 3));
  ini->command(inquiry(3, e + 2));
  ini->command(inquiry(2, e + 1));
  EXPECT_TRUE(ini->recv().empty());
  ini->command(inquiry(1, e));
  EXPECT_EQ(itts(ini->recv()), (std::vector<uint32_t>{1, 2, 3, 4}));
  // CmdSN e+4 was never accepted: it is the next expected one now, and a
  // fresh command with it runs.
  ini->command(inquiry(6, e + 4));
  EXPECT_EQ(itts(ini->recv()), (std::vector<uint32_t>{6}));
}

TEST_F(SessionTest, CommandBeyondAdvertisedMaxCmdSnWithTaskOutstandingIsDropped) {
  ConnectionConfig cfg;
  cfg.cmd_window = 4;
  auto ini = make(cfg);
  ini->login_ready({{"InitialR2T", "Yes"}, {"ImmediateData", "No"}});
  uint32_t e = ini->cmd_sn;
  // A write waiting for its Data-Out holds a slot of the window.
  Command w;
  w.itt = 0x40;
  w.cdb = write10_cdb(0, 1);
  w.write = true;
  w.edtl = 512;
  ini->command(w);
  auto r2t = ini->recv();
  ASSERT_EQ(r2t.size(), 1u);
  EXPECT_EQ(r2t[0].exp_cmd_sn(), e + 1);
  uint32_t max_cmd_sn = r2t[0].max_cmd_sn();
  EXPECT_EQ(max_cmd_sn, e + 3);  // window 4, one slot in use
  // RFC 7143 3.2.2.1: outside [ExpCmdSN, MaxCmdSN] is ignored.
  ini->command(inquiry(9, max_cmd_sn + 1));
  ini->command(inquiry(3, e + 3));
  ini->command(inquiry(2, e + 2));
  ini->command(inquiry(1, e + 1));
  EXPECT_EQ(itts(ini->recv()), (std::vector<uint32_t>{1, 2, 3}));
  ini->data_out(0x40, r2t[0].ttt(), 0, 0, std::vector<uint8_t>(512, 0xaa));
  EXPECT_EQ(itts(ini->recv()), (std::vector<uint32_t>{0x40}));
}

TEST_F(SessionTest, ClosedWindowDropsEvenTheExpectedCmdSn) {
  ConnectionConfig cfg;
  cfg.cmd_window = 2;
  auto ini = make(cfg);
  ini->login_ready({{"InitialR2T", "Yes"}, {"ImmediateData", "No"}});
  uint32_t e = ini->cmd_sn;
  std::vector<Pdu> r2ts;
  for (uint32_t itt : {0x50u, 0x51u}) {
    Command w;
    w.itt = itt;
    w.cdb = write10_cdb(itt, 1);
    w.write = true;
    w.edtl = 512;
    ini->command(w);
    auto pdus = ini->recv();
    ASSERT_EQ(pdus.size(), 1u);
    r2ts.push_back(pdus[0]);
  }
  EXPECT_EQ(r2ts[1].exp_cmd_sn(), e + 2);
  EXPECT_EQ(r2ts[1].max_cmd_sn(), e + 1);  // ExpCmdSN - 1: closed
  ini->command(inquiry(7, e + 2));
  EXPECT_TRUE(ini->recv().empty());
  ini->data_out(0x50, r2ts[0].ttt(), 0, 0, std::vector<uint8_t>(512, 1));
  auto done = ini->recv();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].max_cmd_sn(), e + 2);  // one slot open again
  ini->command(inquiry(7, e + 2));
  EXPECT_EQ(itts(ini->recv()), (std::vector<uint32_t>{7}));
}

TEST_F(SessionTest, ResponseToTheOnlyOutstandingCommandReopensAWindowOfOne) {
  ConnectionConfig cfg;
  cfg.cmd_window = 1;
  auto ini = make(cfg);
  ini->login_ready({{"InitialR2T", "Yes"}, {"ImmediateData", "No"}});
  uint32_t e = ini->cmd_sn;
  Command w;
  w.itt = 0x60;
  w.cdb = write10_cdb(0, 1);
  w.write = true;
  w.edtl = 512;
  ini->command(w);
  auto r2t = ini->recv();
  ASSERT_EQ(r2t.size(), 1u);
  EXPECT_EQ(r2t[0].max_cmd_sn(), e);  // closed: ExpCmdSN - 1
  ini->data_out(0x60, r2t[0].ttt(), 0, 0, std::vector<uint8_t>(512, 2));
  auto rsp = ini->recv();
  ASSERT_EQ(rsp.size(), 1u);
  EXPECT_EQ(rsp[0].op(), Opcode::scsi_response);
  EXPECT_EQ(rsp[0].exp_cmd_sn(), e + 1);
  EXPECT_EQ(rsp[0].max_cmd_sn(), e + 1);  // open again, no NOP-In needed
}

TEST_F(SessionTest, ImmediateCommandsDoNotAdvanceExpCmdSn) {
  auto ini = make();
  ini->login_ready();
  uint32_t e = ini->cmd_sn;
  ini->send(ini->nop_out_bhs(0x20, kReservedTag, /*immediate=*/true));
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].exp_cmd_sn(), e);
  ini->command(inquiry(0x21, e, /*immediate=*/true));
  pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].exp_cmd_sn(), e);
  // The same CmdSN, non-immediate, is still the expected one.
  ini->command(inquiry(0x22, e));
  pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].itt(), 0x22u);
  EXPECT_EQ(pdus[0].exp_cmd_sn(), e + 1);
  // An immediate command is not held behind a gap either.
  ini->command(inquiry(0x24, e + 2));
  ini->command(inquiry(0x23, e + 1, /*immediate=*/true));
  EXPECT_EQ(itts(ini->recv()), (std::vector<uint32_t>{0x23}));
}

TEST_F(SessionTest, WindowIsOpenWhenIdle) {
  for (uint32_t window : {128u, 16u, 1u}) {
    SCOPED_TRACE(window);
    ConnectionConfig cfg;
    cfg.cmd_window = window;
    auto ini = make(cfg);
    auto login = ini->login();
    ASSERT_FALSE(login.empty());
    EXPECT_EQ(login.back().max_cmd_sn() - login.back().exp_cmd_sn() + 1, window);
    ini->command(inquiry(1));
    auto pdus = ini->recv();
    ASSERT_EQ(pdus.size(), 1u);
    EXPECT_EQ(pdus[0].max_cmd_sn() - pdus[0].exp_cmd_sn() + 1, window);
    EXPECT_EQ(pdus[0].exp_cmd_sn(), ini->cmd_sn);
  }
}

TEST_F(SessionTest, NonImmediateNopOutConsumesACmdSn) {
  auto ini = make();
  ini->login_ready();
  uint32_t e = ini->cmd_sn;
  ini->send(ini->nop_out_bhs(0x30, kReservedTag, /*immediate=*/false));
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].exp_cmd_sn(), e + 1);
}

// ---------------------------------------------------------------- NOP

TEST_F(SessionTest, NopOutWithIttIsEchoedInNopIn) {
  auto ini = make();
  ini->login_ready();
  uint32_t stat_sn = ini->exp_stat_sn;
  std::vector<uint8_t> ping(101);
  for (size_t i = 0; i < ping.size(); ++i) ping[i] = uint8_t(i * 3);
  auto b = ini->nop_out_bhs(0x1234, kReservedTag, true);
  b.set_lun_raw(encode_lun(0));
  ini->send(b, ping);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  const Pdu& p = pdus[0];
  EXPECT_EQ(p.op(), Opcode::nop_in);
  EXPECT_EQ(p.itt(), 0x1234u);
  EXPECT_EQ(p.ttt(), kReservedTag);
  EXPECT_EQ(p.stat_sn(), stat_sn);  // a response: StatSN advances
  EXPECT_EQ(p.data, ping);
  ini->send(ini->nop_out_bhs(0x1235, kReservedTag, true));
  pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].stat_sn(), stat_sn + 1);
  EXPECT_TRUE(pdus[0].data.empty());
}

TEST_F(SessionTest, IdleConnectionIsPingedAndAnswerClearsThePing) {
  ConnectionConfig cfg;
  cfg.nop_interval = 5000ms;
  cfg.nop_timeout = 3000ms;
  auto ini = make(cfg);
  ini->login_ready();
  EXPECT_EQ(ini->conn().next_deadline(), ini->now() + 5000ms);
  ini->advance(4999ms);
  ini->tick();
  EXPECT_TRUE(ini->recv().empty());
  ini->advance(1ms);
  ini->tick();
  uint32_t stat_sn = ini->exp_stat_sn;
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  const Pdu& ping = pdus[0];
  EXPECT_EQ(ping.op(), Opcode::nop_in);
  EXPECT_EQ(ping.itt(), kReservedTag);
  EXPECT_NE(ping.ttt(), kReservedTag);
  EXPECT_EQ(ping.stat_sn(), stat_sn);  // current StatSN, not advanced
  EXPECT_EQ(ping.exp_cmd_sn(), ini->cmd_sn);
  EXPECT_EQ(ini->conn().next_deadline(), ini->now() + 3000ms);
  // Ticking again does not ping twice.
  ini->advance(1000ms);
  ini->tick();
  EXPECT_TRUE(ini->recv().empty());

  // The answer: ITT 0xffffffff, I=1, TTT echoed; no reply to it.
  ini->send(ini->nop_out_bhs(kReservedTag, ping.ttt(), true));
  EXPECT_TRUE(ini->recv().empty());
  EXPECT_EQ(ini->conn().next_deadline(), ini->now() + 5000ms);
  ini->advance(3000ms);  // past the ping's timeout, but it was answered
  ini->tick();
  EXPECT_FALSE(ini->conn().closing());
  EXPECT_TRUE(ini->recv().empty());
  // The next response still carries the StatSN the ping showed.
  ini->send(ini->nop_out_bhs(0x77, kReservedTag, true));
  pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].stat_sn(), stat_sn);
}

TEST_F(SessionTest, UnansweredPingTimesOut) {
  ConnectionConfig cfg;
  cfg.nop_interval = 5000ms;
  cfg.nop_timeout = 10000ms;
  auto ini = make(cfg);
  ini->login_ready();
  ini->advance(5000ms);
  ini->tick();
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  // An answer with the wrong TTT does not count.
  ini->send(ini->nop_out_bhs(kReservedTag, pdus[0].ttt() + 1000, true));
  ini->advance(9999ms);
  ini->tick();
  EXPECT_FALSE(ini->conn().closing());
  ini->advance(1ms);
  ini->tick();
  EXPECT_TRUE(ini->conn().closing());
  EXPECT_EQ(ini->conn().close_reason(), CloseReason::nop_timeout);
}

TEST_F(SessionTest, TrafficPostponesThePing) {
  ConnectionConfig cfg;
  cfg.nop_interval = 5000ms;
  auto ini = make(cfg);
  ini->login_ready();
  for (int i = 0; i < 5; ++i) {
    ini->advance(4000ms);
    ini->command(inquiry(uint32_t(100 + i)));
    ini->tick();
    auto pdus = ini->recv();
    ASSERT_EQ(pdus.size(), 1u);
    EXPECT_EQ(pdus[0].op(), Opcode::data_in);
  }
}

TEST_F(SessionTest, RequestLogoutSendsAsyncMessage) {
  auto ini = make();
  ini->login_ready();
  uint32_t stat_sn = ini->exp_stat_sn;
  ini->conn().request_logout(7);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::async_message);
  EXPECT_EQ(pdus[0].itt(), kReservedTag);
  EXPECT_EQ(pdus[0].stat_sn(), stat_sn);
  EXPECT_EQ(pdus[0].async().async_event(), 1);  // logout requested
  EXPECT_EQ(pdus[0].async().parameter3(), 7u);  // Time2Wait
  EXPECT_FALSE(ini->conn().closing());
}

}  // namespace
}  // namespace scsipub::iscsi::testing
