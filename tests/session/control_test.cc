// Protocol errors that end the connection (RFC 7143 7.x at ErrorRecoveryLevel
// 0) and task management (11.5, 11.6), through Connection + CommandEngine.
#include <gtest/gtest.h>

#include "common/bytes.h"
#include "session/harness.h"

namespace scsipub::iscsi::testing {
namespace {

// TMF functions and responses (RFC 7143 11.5.1, 11.6.1).
constexpr uint8_t kAbortTask = 1;
constexpr uint8_t kAbortTaskSet = 2;
constexpr uint8_t kLogicalUnitReset = 5;
constexpr uint8_t kTargetWarmReset = 6;
constexpr uint8_t kTargetColdReset = 7;
constexpr uint8_t kTaskReassign = 8;
constexpr uint8_t kClearAca = 3;

Command write_cmd(uint32_t itt, uint32_t lba, uint16_t blocks, std::vector<uint8_t> imm = {}, bool final_bit = true) {
  Command c;
  c.itt = itt;
  c.cdb = write10_cdb(lba, blocks);
  c.write = true;
  c.final_bit = final_bit;
  c.edtl = uint32_t(blocks) * kBlockSize;
  c.data = std::move(imm);
  return c;
}

class ProtocolErrorTest : public SessionTest {
 protected:
  // InitialR2T=Yes, ImmediateData as asked, a write of 16 blocks waiting for
  // its R2T'd data. Returns the R2T.
  Pdu start_write(Initiator& ini, uint32_t itt = 0x10) {
    ini.command(write_cmd(itt, 0, 16));
    auto pdus = ini.recv();
    EXPECT_EQ(pdus.size(), 1u);
    if (pdus.empty()) return {};
    EXPECT_EQ(pdus[0].op(), Opcode::r2t);
    EXPECT_EQ(pdus[0].buffer_offset(), 0u);
    EXPECT_EQ(pdus[0].r2t().desired_data_transfer_length(), 8192u);
    return pdus[0];
  }
  // RFC 7143 6.8 / 11.17: a Reject (protocol error) naming the offending
  // PDU, then the connection ends (no recovery at ERL 0).
  static void expect_closed(Initiator& ini, Opcode offending, uint32_t itt) {
    EXPECT_TRUE(ini.conn().closing());
    EXPECT_EQ(ini.conn().close_reason(), CloseReason::protocol_error);
    auto pdus = ini.recv();
    ASSERT_EQ(pdus.size(), 1u);
    EXPECT_EQ(pdus[0].op(), Opcode::reject);
    EXPECT_EQ(pdus[0].reject().reason(), 0x04);
    EXPECT_EQ(pdus[0].itt(), kReservedTag);
    ASSERT_EQ(pdus[0].data.size(), kBhsSize);
    EXPECT_EQ(pdus[0].data[0] & 0x3f, uint8_t(offending));
    EXPECT_EQ(load_be32(&pdus[0].data[16]), itt);
  }
  std::vector<uint8_t> zeros(size_t n) { return std::vector<uint8_t>(n, 0); }
};

// ---------------------------------------------------------------- protocol errors

TEST_F(ProtocolErrorTest, DataOutPastTheEndOfItsR2t) {
  auto ini = make();
  ini->login_ready({{"ImmediateData", "No"}});
  Pdu r2t = start_write(*ini);
  ini->data_out(0x10, r2t.ttt(), 0, 0, std::vector<uint8_t>(4096, 1), false);
  EXPECT_FALSE(ini->conn().closing());
  ini->data_out(0x10, r2t.ttt(), 1, 4096, std::vector<uint8_t>(4608, 1), true);  // 512 too many
  expect_closed(*ini, Opcode::data_out, 0x10);
  // Further PDUs are ignored once closing.
  ini->send(ini->nop_out_bhs(0x99, kReservedTag, true));
  EXPECT_TRUE(ini->recv().empty());
}

TEST_F(ProtocolErrorTest, DataOutWithWrongOffset) {
  auto ini = make();
  ini->login_ready({{"ImmediateData", "No"}});
  Pdu r2t = start_write(*ini);
  ini->data_out(0x10, r2t.ttt(), 0, 512, std::vector<uint8_t>(512, 1), false);
  expect_closed(*ini, Opcode::data_out, 0x10);
}

TEST_F(ProtocolErrorTest, DataOutWithUnknownTtt) {
  auto ini = make();
  ini->login_ready({{"ImmediateData", "No"}});
  Pdu r2t = start_write(*ini);
  ini->data_out(0x10, r2t.ttt() + 100, 0, 0, std::vector<uint8_t>(512, 1), false);
  expect_closed(*ini, Opcode::data_out, 0x10);
}

TEST_F(ProtocolErrorTest, ImmediateDataBeyondFirstBurstLength) {
  auto ini = make();
  ini->login_ready({{"ImmediateData", "Yes"}, {"FirstBurstLength", "4096"}});
  ini->command(write_cmd(0x11, 0, 16, zeros(8192)));
  expect_closed(*ini, Opcode::scsi_command, 0x11);
}

TEST_F(ProtocolErrorTest, ImmediateDataBeyondEdtl) {
  auto ini = make();
  ini->login_ready();
  Command c = write_cmd(0x11, 0, 1, zeros(1024));  // EDTL 512
  ini->command(c);
  expect_closed(*ini, Opcode::scsi_command, 0x11);
}

TEST_F(ProtocolErrorTest, ImmediateDataWhenNotNegotiated) {
  auto ini = make();
  ini->login_ready({{"ImmediateData", "No"}});
  ASSERT_EQ(ini->negotiated["ImmediateData"], "No");
  ini->command(write_cmd(0x12, 0, 1, zeros(512)));
  expect_closed(*ini, Opcode::scsi_command, 0x12);
}

TEST_F(ProtocolErrorTest, DataWithAReadCommand) {
  auto ini = make();
  ini->login_ready();
  Command c;
  c.itt = 0x13;
  c.cdb = read10_cdb(0, 1);
  c.read = true;
  c.edtl = 512;
  c.data = zeros(512);
  ini->command(c);
  expect_closed(*ini, Opcode::scsi_command, 0x13);
}

TEST_F(ProtocolErrorTest, UnsolicitedDataOutWhenInitialR2tIsYes) {
  auto ini = make();
  ini->login_ready({{"InitialR2T", "Yes"}});
  ini->command(write_cmd(0x14, 0, 16, {}, /*final_bit=*/false));
  expect_closed(*ini, Opcode::scsi_command, 0x14);
}

TEST_F(ProtocolErrorTest, UnsolicitedDataOutAfterFinalCommand) {
  auto ini = make();
  ini->login_ready({{"InitialR2T", "Yes"}, {"ImmediateData", "No"}});
  start_write(*ini, 0x15);
  ini->data_out(0x15, kReservedTag, 0, 0, std::vector<uint8_t>(512, 1));
  expect_closed(*ini, Opcode::data_out, 0x15);
}

TEST_F(ProtocolErrorTest, UnsolicitedDataOutBeyondFirstBurstLength) {
  auto ini = make();
  ini->login_ready({{"InitialR2T", "No"}, {"ImmediateData", "No"}, {"FirstBurstLength", "4096"}});
  ini->command(write_cmd(0x16, 0, 16, {}, /*final_bit=*/false));
  ini->data_out(0x16, kReservedTag, 0, 0, std::vector<uint8_t>(4096 + 512, 1));
  expect_closed(*ini, Opcode::data_out, 0x16);
}

TEST_F(ProtocolErrorTest, DuplicateIttOfAnOutstandingTask) {
  auto ini = make();
  ini->login_ready({{"ImmediateData", "No"}});
  start_write(*ini, 0x17);
  Command c;
  c.itt = 0x17;
  c.cdb = tur_cdb();
  ini->command(c);
  expect_closed(*ini, Opcode::scsi_command, 0x17);
}

TEST_F(ProtocolErrorTest, DataOutForUnknownIttIsDroppedSilently) {
  auto ini = make();
  ini->login_ready();
  ini->data_out(0x4242, 0x1, 0, 0, std::vector<uint8_t>(512, 1));
  ini->data_out(0x4243, kReservedTag, 0, 0, std::vector<uint8_t>(512, 1));
  EXPECT_TRUE(ini->recv().empty());
  EXPECT_FALSE(ini->conn().closing());
  EXPECT_EQ(ini->read10(0, 1, 0x4242), std::vector<uint8_t>(512, 0));
}

TEST_F(ProtocolErrorTest, LoginRequestInFullFeaturePhaseIsRejected) {
  auto ini = make();
  ini->login_ready();
  ini->send(ini->login_bhs(1, true, 3));
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].reject().reason(), 0x04);
}

TEST_F(ProtocolErrorTest, DestroyingMidTransferIsClean) {
  auto ini = make();
  ini->login_ready({{"ImmediateData", "No"}});
  start_write(*ini, 0x18);
  Command r;
  r.itt = 0x19;
  r.cdb = read10_cdb(0, 64);
  r.read = true;
  r.edtl = 64 * kBlockSize;
  ini->command(r);  // Data-In queued, never flushed
  EXPECT_FALSE(ini->conn().outbox().empty());
  ini->destroy();
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_EQ(targets.unbinds, 1);
}

// ---------------------------------------------------------------- task management

class TaskMgmtTest : public SessionTest {
 protected:
  static Pdu expect_tmf_response(const std::vector<Pdu>& pdus, uint32_t itt, uint8_t response) {
    EXPECT_EQ(pdus.size(), 1u);
    if (pdus.empty()) return {};
    Pdu p = pdus[0];
    EXPECT_EQ(p.op(), Opcode::task_mgmt_response);
    EXPECT_EQ(p.itt(), itt);
    EXPECT_EQ(p.tmf().response(), response);
    return p;
  }
};

TEST_F(TaskMgmtTest, AbortTaskWaitingForDataOut) {
  auto ini = make();
  ini->login_ready({{"InitialR2T", "Yes"}, {"ImmediateData", "No"}});
  uint32_t write_sn = ini->cmd_sn;
  ini->command(write_cmd(0x20, 0, 16));
  auto r2t = ini->recv();
  ASSERT_EQ(r2t.size(), 1u);
  uint32_t stat_sn = ini->exp_stat_sn;
  ini->send(ini->tmf_bhs(0x21, kAbortTask, 0x20, write_sn));
  Pdu p = expect_tmf_response(ini->recv(), 0x21, 0);  // Function Complete
  EXPECT_EQ(p.stat_sn(), stat_sn);
  EXPECT_EQ(p.exp_cmd_sn(), ini->cmd_sn);
  // The aborted task's Data-Out is ignored, not an error.
  ini->data_out(0x20, r2t[0].ttt(), 0, 0, std::vector<uint8_t>(8192, 0xee));
  EXPECT_TRUE(ini->recv().empty());
  EXPECT_FALSE(ini->conn().closing());
  std::vector<uint8_t> block(8192);
  ASSERT_EQ(targets.store->read(0, block), storage::IoStatus::ok);
  EXPECT_EQ(block, std::vector<uint8_t>(8192, 0));
  // Its ITT is free again.
  EXPECT_EQ(ini->read10(0, 1, 0x20), std::vector<uint8_t>(512, 0));
}

TEST_F(TaskMgmtTest, AbortTaskHeldBehindACmdSnGap) {
  auto ini = make();
  ini->login_ready();
  uint32_t e = ini->cmd_sn;
  Command c;
  c.itt = 0x30;
  c.cdb = inquiry_cdb(36);
  c.read = true;
  c.edtl = 36;
  c.cmd_sn = e + 1;
  ini->command(c);
  ini->send(ini->tmf_bhs(0x31, kAbortTask, 0x30, e + 1));
  expect_tmf_response(ini->recv(), 0x31, 0);
  // Filling the gap does not run the aborted command.
  Command fill = c;
  fill.itt = 0x32;
  fill.cmd_sn = e;
  ini->command(fill);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].itt(), 0x32u);
}

TEST_F(TaskMgmtTest, AbortLostCommandCountsAsReceived) {
  auto ini = make();
  ini->login_ready();
  uint32_t e = ini->cmd_sn;
  // CmdSN e (ITT 0x30) is lost on the way; e+1 arrives and waits behind it.
  Command c;
  c.itt = 0x31;
  c.cdb = inquiry_cdb(36);
  c.read = true;
  c.edtl = 36;
  c.cmd_sn = e + 1;
  ini->command(c);
  EXPECT_TRUE(ini->recv().empty());
  // RFC 7143 11.5.1 b): RTT unknown, RefCmdSN in the window and below the
  // TMF's CmdSN -> Function Complete, and CmdSN e counts as received.
  ini->cmd_sn = e + 2;
  ini->send(ini->tmf_bhs(0x40, kAbortTask, 0x30, e));
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 2u);
  EXPECT_EQ(pdus[0].op(), Opcode::task_mgmt_response);
  EXPECT_EQ(pdus[0].itt(), 0x40u);
  EXPECT_EQ(pdus[0].tmf().response(), 0);
  // So the command behind the gap runs instead of waiting forever.
  EXPECT_EQ(pdus[1].op(), Opcode::data_in);
  EXPECT_EQ(pdus[1].itt(), 0x31u);
  EXPECT_EQ(pdus[1].exp_cmd_sn(), e + 2);
  // And the window moves on.
  Command next = c;
  next.itt = 0x32;
  next.cmd_sn = std::nullopt;
  ini->command(next);
  pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].itt(), 0x32u);
  EXPECT_EQ(pdus[0].exp_cmd_sn(), e + 3);
}

TEST_F(TaskMgmtTest, AbortUnknownTaskOutsideTheWindowDoesNotExist) {
  auto ini = make();
  ini->login_ready();
  uint32_t tmf_sn = ini->cmd_sn;  // == ExpCmdSN: nothing is missing
  ini->send(ini->tmf_bhs(0x41, kAbortTask, 0x777, tmf_sn));  // not before the TMF
  expect_tmf_response(ini->recv(), 0x41, 1);
  ini->send(ini->tmf_bhs(0x42, kAbortTask, 0x777, tmf_sn + 5));  // after it
  expect_tmf_response(ini->recv(), 0x42, 1);
  ini->send(ini->tmf_bhs(0x43, kAbortTask, 0x777, tmf_sn - 1));  // already received and done
  expect_tmf_response(ini->recv(), 0x43, 1);
  ini->send(ini->tmf_bhs(0x44, kAbortTask, 0x777, tmf_sn - 1000));  // long before the window
  expect_tmf_response(ini->recv(), 0x44, 1);
  EXPECT_FALSE(ini->conn().closing());
  // Nothing was marked received: the expected CmdSN still runs.
  Command c;
  c.itt = 0x45;
  c.cdb = tur_cdb();
  ini->command(c);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].exp_cmd_sn(), tmf_sn + 1);
}

TEST_F(TaskMgmtTest, LunResetOnUnknownLun) {
  auto ini = make();
  ini->login_ready();
  ini->send(ini->tmf_bhs(0x50, kLogicalUnitReset, kReservedTag, ini->cmd_sn, /*lun=*/3));
  expect_tmf_response(ini->recv(), 0x50, 2);  // LUN does not exist
  ini->send(ini->tmf_bhs(0x51, kAbortTaskSet, kReservedTag, ini->cmd_sn, /*lun=*/3));
  expect_tmf_response(ini->recv(), 0x51, 2);
}

TEST_F(TaskMgmtTest, LunResetAbortsTasksAndRaisesUnitAttention) {
  auto ini = make();
  ini->login_ready({{"InitialR2T", "Yes"}, {"ImmediateData", "No"}});
  ini->command(write_cmd(0x52, 0, 16));
  auto r2t = ini->recv();
  ASSERT_EQ(r2t.size(), 1u);
  ini->send(ini->tmf_bhs(0x53, kLogicalUnitReset, kReservedTag, ini->cmd_sn, 0));
  expect_tmf_response(ini->recv(), 0x53, 0);
  ini->data_out(0x52, r2t[0].ttt(), 0, 0, std::vector<uint8_t>(8192, 1));
  EXPECT_TRUE(ini->recv().empty());  // the task is gone
  Command tur;
  tur.itt = 0x54;
  tur.cdb = tur_cdb();
  ini->command(tur);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].response().status(), scsi::status::kCheckCondition);  // BUS DEVICE RESET FUNCTION OCCURRED
  ASSERT_GE(pdus[0].data.size(), 2u + 14);
  EXPECT_EQ(pdus[0].data[2 + 2] & 0x0f, 0x06);  // UNIT ATTENTION
  EXPECT_EQ(pdus[0].data[2 + 12], 0x29);
}

TEST_F(TaskMgmtTest, TargetColdResetRespondsThenCloses) {
  auto ini = make();
  ini->login_ready();
  ini->send(ini->tmf_bhs(0x60, kTargetColdReset, kReservedTag, ini->cmd_sn));
  expect_tmf_response(ini->recv(), 0x60, 0);
  EXPECT_TRUE(ini->conn().closing());
  EXPECT_EQ(ini->conn().close_reason(), CloseReason::target_reset);
}

TEST_F(TaskMgmtTest, TargetWarmResetKeepsTheConnection) {
  auto ini = make();
  ini->login_ready();
  ini->send(ini->tmf_bhs(0x61, kTargetWarmReset, kReservedTag, ini->cmd_sn));
  expect_tmf_response(ini->recv(), 0x61, 0);
  EXPECT_FALSE(ini->conn().closing());
}

TEST_F(TaskMgmtTest, TaskReassignIsNotSupportedAtErl0) {
  auto ini = make();
  ini->login_ready();
  ini->send(ini->tmf_bhs(0x70, kTaskReassign, 0x20, ini->cmd_sn));
  expect_tmf_response(ini->recv(), 0x70, 4);
  ini->send(ini->tmf_bhs(0x71, kClearAca, kReservedTag, ini->cmd_sn));
  expect_tmf_response(ini->recv(), 0x71, 5);  // function not supported
  EXPECT_FALSE(ini->conn().closing());
}

TEST_F(TaskMgmtTest, NonImmediateTmfIsOrderedByCmdSn) {
  auto ini = make();
  ini->login_ready();
  uint32_t e = ini->cmd_sn;
  auto tmf = ini->tmf_bhs(0x80, kTargetWarmReset, kReservedTag, e, 0, /*immediate=*/false);
  tmf.set_cmd_sn(e + 1);
  ini->send(tmf);
  EXPECT_TRUE(ini->recv().empty());  // waits for CmdSN e
  Command c;
  c.itt = 0x81;
  c.cdb = inquiry_cdb(36);
  c.read = true;
  c.edtl = 36;
  c.cmd_sn = e;
  ini->command(c);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 2u);
  EXPECT_EQ(pdus[0].itt(), 0x81u);
  EXPECT_EQ(pdus[1].op(), Opcode::task_mgmt_response);
}

}  // namespace
}  // namespace scsipub::iscsi::testing
