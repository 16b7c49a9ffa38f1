// What bounds the commands that skip the CmdSN window: immediate SCSI
// commands count against the per-connection task and buffer limits (RFC 7143
// 3.2.2.1, Reject reason 0x06), and immediate ABORT TASK only marks CmdSNs
// inside [ExpCmdSN, MaxCmdSN] as received. Both were floods one stranger
// could use to grow the server's memory or pin an event loop.
#include <gtest/gtest.h>

#include "common/limit_events.h"
#include "session/harness.h"

namespace scsipub::iscsi::testing {
namespace {

constexpr uint8_t kRejectImmediateCommand = 0x06;
constexpr uint8_t kAbortTask = 1;

Command immediate_write(uint32_t itt, uint16_t blocks, std::vector<uint8_t> data = {}, bool final_bit = true) {
  Command c;
  c.itt = itt;
  c.cdb = write10_cdb(0, blocks);
  c.write = true;
  c.final_bit = final_bit;
  c.edtl = uint32_t(blocks) * kBlockSize;
  c.data = std::move(data);
  c.immediate = true;
  return c;
}

size_t count_rejects(const std::vector<Pdu>& pdus, uint8_t reason) {
  size_t n = 0;
  for (const auto& p : only(pdus, Opcode::reject)) n += p.reject().reason() == reason ? 1 : 0;
  return n;
}

class ImmediateLimitsTest : public SessionTest {
 protected:
  ConnectionConfig config() {
    ConnectionConfig c;
    c.limit_events = &events;
    return c;
  }
  LimitEvents events;
};

TEST_F(ImmediateLimitsTest, ImmediateCommandsPastTheTaskLimitAreRejected) {
  ConnectionConfig cfg = config();
  cfg.cmd_window = 8;
  auto ini = make(cfg);
  ini->login_ready({{"InitialR2T", "Yes"}, {"ImmediateData", "No"}});
  // Writes that wait for their data hold a task each; the CmdSN never moves.
  for (uint32_t i = 0; i < 20; ++i) ini->command(immediate_write(0x1000 + i, 8));
  auto pdus = ini->recv();
  EXPECT_EQ(only(pdus, Opcode::r2t).size(), 8u);
  EXPECT_EQ(count_rejects(pdus, kRejectImmediateCommand), 12u);
  EXPECT_EQ(events.count(Limit::immediate_commands), 12u);
  EXPECT_FALSE(ini->conn().closing());  // the initiator may retry later

  // Finishing one frees a slot for the next immediate command.
  auto r2t = only(pdus, Opcode::r2t).front();
  ini->data_out(r2t.itt(), r2t.ttt(), 0, 0, std::vector<uint8_t>(8 * kBlockSize, 0x5a));
  auto done = ini->recv();
  EXPECT_EQ(status_of(done, r2t.itt()), scsi::status::kGood);
  ini->command(immediate_write(0x2000, 8));
  auto again = ini->recv();
  EXPECT_EQ(only(again, Opcode::r2t).size(), 1u);
  EXPECT_EQ(count_rejects(again, kRejectImmediateCommand), 0u);
}

TEST_F(ImmediateLimitsTest, ImmediateDataPastTheBufferLimitIsRejected) {
  ConnectionConfig cfg = config();
  cfg.engine.max_buffered_bytes = 64 * 1024;
  auto ini = make(cfg);
  ini->login_ready({{"InitialR2T", "No"}, {"ImmediateData", "Yes"}, {"FirstBurstLength", "65536"},
                    {"MaxRecvDataSegmentLength", "65536"}});
  ASSERT_EQ(ini->negotiated["ImmediateData"], "Yes");
  // 8 KiB of immediate data each, the rest (F=0) promised as unsolicited
  // Data-Out that never comes: only what fits the buffer budget is taken.
  for (uint32_t i = 0; i < 64; ++i) {
    ini->command(immediate_write(0x100 + i, 128, std::vector<uint8_t>(8192, 0x11), /*final_bit=*/false));
  }
  auto pdus = ini->recv();
  size_t rejected = count_rejects(pdus, kRejectImmediateCommand);
  EXPECT_GE(rejected, 56u);  // 64 KiB of budget: at most 8 commands' worth is held
  EXPECT_LE(ini->conn().peak_buffered_bytes(), 64u * 1024 + 64 * 1024);
  EXPECT_FALSE(ini->conn().closing());
}

TEST_F(ImmediateLimitsTest, DatalessImmediateWritesCostNoBufferUpFront) {
  ConnectionConfig cfg = config();
  cfg.engine.max_buffered_bytes = 1 << 20;
  auto ini = make(cfg);
  ini->login_ready({{"InitialR2T", "No"}, {"ImmediateData", "Yes"}, {"FirstBurstLength", "262144"}});
  // F=0 and no data: 256 KiB of unsolicited data promised per command. The
  // first takes the whole budget for its EDTL; the others hold no buffer.
  for (uint32_t i = 0; i < 300; ++i) ini->command(immediate_write(0x100 + i, 2048, {}, /*final_bit=*/false));
  auto pdus = ini->recv();
  EXPECT_EQ(count_rejects(pdus, kRejectImmediateCommand), 300u - 128u);  // the default window
  EXPECT_LE(ini->conn().peak_buffered_bytes(), 1u << 20);
}

TEST_F(ImmediateLimitsTest, AbortTaskFloodMarksOnlyTheWindowAsReceived) {
  ConnectionConfig cfg = config();
  cfg.cmd_window = 16;
  auto ini = make(cfg);
  ini->login_ready();
  uint32_t e = ini->cmd_sn;
  // Distinct RefCmdSNs far ahead, with a CmdSN that claims they all came
  // before: only the 16 inside the window become placeholders.
  size_t complete = 0;
  for (uint32_t i = 0; i < 20000; ++i) {
    auto tmf = ini->tmf_bhs(0x10000 + i, kAbortTask, 0x777, e + i * 7919u);
    tmf.set_cmd_sn(e + 0x7fffffffu);
    ini->send(tmf);
    for (const auto& p : ini->recv()) complete += p.tmf().response() == 0 ? 1 : 0;
  }
  // RefCmdSN e+0, e+7919*k: only k=0 lies in [e, e+15].
  EXPECT_EQ(complete, 1u);
  EXPECT_FALSE(ini->conn().closing());
  // The slot at e counts as received: the next command is e+1 and runs.
  ini->cmd_sn = e + 1;
  EXPECT_EQ(ini->read10(0, 1, 0x55), std::vector<uint8_t>(512, 0));

  // Every in-window RefCmdSN at once: each is a placeholder, and the gap
  // they leave behind them closes when the expected CmdSN arrives.
  uint32_t e2 = ini->cmd_sn;
  for (uint32_t i = 1; i < 16; ++i) {
    auto tmf = ini->tmf_bhs(0x20000 + i, kAbortTask, 0x777, e2 + i);
    tmf.set_cmd_sn(e2 + 100);
    ini->send(tmf);
  }
  auto acks = ini->recv();
  ASSERT_EQ(acks.size(), 15u);
  for (const auto& p : acks) EXPECT_EQ(p.tmf().response(), 0);
  Command tur;
  tur.itt = 0x66;
  tur.cdb = tur_cdb();
  ini->command(tur);  // CmdSN e2
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  ini->cmd_sn = e2 + 16;
  tur.itt = 0x67;
  ini->command(tur);
  pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].exp_cmd_sn(), e2 + 17);
}

TEST_F(ImmediateLimitsTest, AbortedCommandBehindAGapKeepsItsCmdSn) {
  auto ini = make(config());
  ini->login_ready();
  uint32_t e = ini->cmd_sn;
  Command c;
  c.itt = 0x30;
  c.cdb = tur_cdb();
  c.cmd_sn = e + 1;
  ini->command(c);  // waits behind e
  auto tmf = ini->tmf_bhs(0x31, kAbortTask, 0x30, e + 1);
  tmf.set_cmd_sn(e + 2);
  ini->send(tmf);
  auto acks = ini->recv();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].tmf().response(), 0);
  c.itt = 0x32;
  c.cmd_sn = e;
  ini->command(c);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);  // 0x32 ran, the aborted 0x30 did not
  EXPECT_EQ(pdus[0].itt(), 0x32u);
  // CmdSN e+1 counted as received: e+2 runs at once.
  c.itt = 0x33;
  c.cmd_sn = e + 2;
  ini->command(c);
  pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].exp_cmd_sn(), e + 3);
}

}  // namespace
}  // namespace scsipub::iscsi::testing
