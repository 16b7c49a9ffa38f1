// SCSI data movement through Connection + CommandEngine (RFC 7143 sections
// 4.2.5, 11.3-11.8): Data-In splitting, immediate/unsolicited data, R2T and
// Data-Out, residuals, oversized writes, and digests on every PDU.
#include <gtest/gtest.h>

#include <numeric>

#include "common/bytes.h"
#include "session/harness.h"

namespace scsipub::iscsi::testing {
namespace {

std::vector<uint8_t> store_read(FakeTargets& t, uint64_t lba, size_t blocks) {
  std::vector<uint8_t> v(blocks * kBlockSize);
  EXPECT_EQ(t.store->read(lba, v), storage::IoStatus::ok);
  return v;
}

void store_write(FakeTargets& t, uint64_t lba, const std::vector<uint8_t>& v) {
  ASSERT_EQ(t.store->write(lba, v), storage::IoStatus::ok);
}

// Sense key / ASC / ASCQ from a SCSI Response data segment (SenseLength + sense).
struct Sense {
  uint8_t key = 0, asc = 0, ascq = 0;
};
Sense sense_of(const Pdu& r) {
  Sense s;
  if (r.data.size() < 2) return s;
  uint16_t len = load_be16(r.data.data());
  EXPECT_EQ(size_t(len) + 2, r.data.size());
  const uint8_t* p = r.data.data() + 2;
  // Descriptor format (72h/73h) has key/ASC/ASCQ in its 8-byte header;
  // fixed format (70h/71h) needs 14 bytes to reach the ASCQ.
  if ((p[0] & 0x7f) >= 0x72) {
    if (len >= 4) s = {uint8_t(p[1] & 0x0f), p[2], p[3]};
  } else if (len >= 14) {
    s = {uint8_t(p[2] & 0x0f), p[12], p[13]};
  }
  return s;
}

// ---------------------------------------------------------------- Data-In

TEST_F(SessionTest, ReadSplitsDataInByMrdslAndMaxBurst) {
  auto ini = make();
  ini->login_ready({{"MaxRecvDataSegmentLength", "1024"}, {"MaxBurstLength", "4096"}, {"FirstBurstLength", "4096"}});
  ASSERT_EQ(ini->negotiated["MaxBurstLength"], "4096");
  auto written = pattern(16 * kBlockSize, 0x31);
  store_write(targets, 200, written);

  uint32_t stat_sn = ini->exp_stat_sn;
  uint32_t exp_cmd_sn = ini->cmd_sn + 1;
  Command c;
  c.itt = 0xabc;
  c.cdb = read10_cdb(200, 16);
  c.read = true;
  c.edtl = 16 * kBlockSize;
  ini->command(c);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 8u);  // no separate SCSI Response: status rides the last Data-In
  std::vector<uint8_t> got;
  for (uint32_t i = 0; i < pdus.size(); ++i) {
    const Pdu& p = pdus[i];
    SCOPED_TRACE(i);
    ASSERT_EQ(p.op(), Opcode::data_in);
    EXPECT_EQ(p.dsl(), 1024u);
    EXPECT_LE(p.data.size(), 1024u);
    EXPECT_EQ(p.itt(), 0xabcu);
    EXPECT_EQ(p.ttt(), kReservedTag);
    DataInHeader d = p.data_in();
    EXPECT_EQ(d.data_sn(), i);
    EXPECT_EQ(p.buffer_offset(), i * 1024);
    EXPECT_EQ(p.exp_cmd_sn(), exp_cmd_sn);
    EXPECT_EQ(p.max_cmd_sn(), exp_cmd_sn + 127);
    bool sequence_end = (p.buffer_offset() + p.data.size()) % 4096 == 0;
    EXPECT_EQ(d.final_bit(), sequence_end);  // F ends each MaxBurstLength sequence
    bool last = i + 1 == pdus.size();
    EXPECT_EQ(d.status_present(), last);  // S
    EXPECT_FALSE(d.overflow());            // no residual
    EXPECT_FALSE(d.underflow());
    EXPECT_FALSE(d.acknowledge());
    if (last) {
      EXPECT_EQ(d.status(), 0x00);  // GOOD
      EXPECT_EQ(p.stat_sn(), stat_sn);
      EXPECT_EQ(d.residual_count(), 0u);
    }
    got.insert(got.end(), p.data.begin(), p.data.end());
  }
  EXPECT_EQ(got, written);

  // StatSN advanced exactly once for the whole command.
  ini->send(ini->nop_out_bhs(0x55, kReservedTag, true));
  auto nop = ini->recv();
  ASSERT_EQ(nop.size(), 1u);
  EXPECT_EQ(nop[0].stat_sn(), stat_sn + 1);
}

TEST_F(SessionTest, ReadSmallerThanMrdslIsOnePdu) {
  auto ini = make();
  ini->login_ready();
  auto written = pattern(8 * kBlockSize, 0x07);
  store_write(targets, 0, written);
  EXPECT_EQ(ini->read10(0, 8, 3), written);
}

// ---------------------------------------------------------------- writes

TEST_F(SessionTest, WriteWithImmediateDataThenR2ts) {
  auto ini = make();
  ini->login_ready({{"InitialR2T", "Yes"},
                    {"ImmediateData", "Yes"},
                    {"FirstBurstLength", "4096"},
                    {"MaxBurstLength", "8192"},
                    {"MaxOutstandingR2T", "1"}});
  ASSERT_EQ(ini->negotiated["InitialR2T"], "Yes");
  ASSERT_EQ(ini->negotiated["FirstBurstLength"], "4096");
  auto data = pattern(32 * kBlockSize, 0x5a);  // 16384 bytes

  uint32_t stat_sn = ini->exp_stat_sn;
  Command c;
  c.itt = 0x10;
  c.cdb = write10_cdb(100, 32);
  c.write = true;  // InitialR2T=Yes: no unsolicited Data-Out follows
  c.edtl = 16384;
  c.data.assign(data.begin(), data.begin() + 4096);
  ini->command(c);
  uint32_t exp_cmd_sn = ini->cmd_sn;

  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  Pdu r2t = pdus[0];
  EXPECT_EQ(r2t.op(), Opcode::r2t);
  EXPECT_EQ(r2t.itt(), 0x10u);
  EXPECT_NE(r2t.ttt(), kReservedTag);
  EXPECT_EQ(r2t.stat_sn(), stat_sn);  // RFC 7143 11.8.3: StatSN not advanced
  EXPECT_EQ(r2t.exp_cmd_sn(), exp_cmd_sn);
  EXPECT_EQ(r2t.r2t().r2t_sn(), 0u);
  EXPECT_EQ(r2t.buffer_offset(), 4096u);
  EXPECT_EQ(r2t.r2t().desired_data_transfer_length(), 8192u);  // = MaxBurstLength
  uint32_t ttt1 = r2t.ttt();

  ini->data_out(0x10, ttt1, 0, 4096, std::span(data).subspan(4096, 4096), false);
  EXPECT_TRUE(ini->recv().empty());
  ini->data_out(0x10, ttt1, 1, 8192, std::span(data).subspan(8192, 4096), true);
  pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);  // MaxOutstandingR2T=1: the next R2T only now
  r2t = pdus[0];
  EXPECT_EQ(r2t.op(), Opcode::r2t);
  EXPECT_EQ(r2t.r2t().r2t_sn(), 1u);
  EXPECT_EQ(r2t.buffer_offset(), 12288u);
  EXPECT_EQ(r2t.r2t().desired_data_transfer_length(), 4096u);
  EXPECT_NE(r2t.ttt(), kReservedTag);
  EXPECT_NE(r2t.ttt(), ttt1);
  EXPECT_EQ(r2t.stat_sn(), stat_sn);

  ini->data_out(0x10, r2t.ttt(), 0, 12288, std::span(data).subspan(12288, 4096), true);
  pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  const Pdu& rsp = pdus[0];
  EXPECT_EQ(rsp.op(), Opcode::scsi_response);
  EXPECT_FALSE(rsp.response().overflow());
  EXPECT_FALSE(rsp.response().underflow());
  EXPECT_EQ(rsp.response().response(), 0x00);  // command completed at target
  EXPECT_EQ(rsp.response().status(), 0x00);    // GOOD
  EXPECT_EQ(rsp.itt(), 0x10u);
  EXPECT_EQ(rsp.stat_sn(), stat_sn);
  EXPECT_EQ(rsp.exp_cmd_sn(), exp_cmd_sn);
  EXPECT_EQ(rsp.response().exp_data_sn(), 2u);  // R2Ts sent (RFC 7143 11.4.8)
  EXPECT_EQ(rsp.response().residual_count(), 0u);
  EXPECT_TRUE(rsp.data.empty());

  EXPECT_EQ(store_read(targets, 100, 32), data);
  EXPECT_EQ(ini->read10(100, 32, 0x11), data);
}

TEST_F(SessionTest, SeveralOutstandingR2ts) {
  auto ini = make();
  ini->login_ready({{"InitialR2T", "Yes"},
                    {"ImmediateData", "No"},
                    {"FirstBurstLength", "4096"},
                    {"MaxBurstLength", "4096"},
                    {"MaxOutstandingR2T", "2"}});
  auto data = pattern(24 * kBlockSize, 0x77);  // 12288: three bursts
  Command c;
  c.itt = 0x30;
  c.cdb = write10_cdb(8, 24);
  c.write = true;
  c.edtl = 12288;
  ini->command(c);
  auto r2ts = ini->recv();
  ASSERT_EQ(r2ts.size(), 2u);
  EXPECT_EQ(r2ts[0].buffer_offset(), 0u);
  EXPECT_EQ(r2ts[1].buffer_offset(), 4096u);
  EXPECT_EQ(r2ts[0].r2t().r2t_sn(), 0u);
  EXPECT_EQ(r2ts[1].r2t().r2t_sn(), 1u);
  EXPECT_NE(r2ts[0].ttt(), r2ts[1].ttt());
  ini->data_out(0x30, r2ts[0].ttt(), 0, 0, std::span(data).subspan(0, 4096));
  auto third = ini->recv();
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].op(), Opcode::r2t);
  EXPECT_EQ(third[0].buffer_offset(), 8192u);
  EXPECT_EQ(third[0].r2t().r2t_sn(), 2u);
  ini->data_out(0x30, r2ts[1].ttt(), 0, 4096, std::span(data).subspan(4096, 4096));
  EXPECT_TRUE(ini->recv().empty());
  ini->data_out(0x30, third[0].ttt(), 0, 8192, std::span(data).subspan(8192, 4096));
  auto done = ini->recv();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].op(), Opcode::scsi_response);
  EXPECT_EQ(done[0].response().status(), 0);
  EXPECT_EQ(done[0].response().exp_data_sn(), 3u);
  EXPECT_EQ(store_read(targets, 8, 24), data);
}

TEST_F(SessionTest, UnsolicitedDataOutThenR2tForTheRest) {
  auto ini = make();
  ini->login_ready({{"InitialR2T", "No"},
                    {"ImmediateData", "No"},
                    {"FirstBurstLength", "8192"},
                    {"MaxBurstLength", "8192"}});
  ASSERT_EQ(ini->negotiated["InitialR2T"], "No");
  ASSERT_EQ(ini->negotiated["ImmediateData"], "No");
  auto data = pattern(40 * kBlockSize, 0x13);  // 20480
  uint32_t stat_sn = ini->exp_stat_sn;
  Command c;
  c.itt = 0x40;
  c.cdb = write10_cdb(300, 40);
  c.write = true;
  c.final_bit = false;  // F=0: unsolicited Data-Out follows
  c.edtl = 20480;
  ini->command(c);
  EXPECT_TRUE(ini->recv().empty());
  ini->data_out(0x40, kReservedTag, 0, 0, std::span(data).subspan(0, 4096), false);
  EXPECT_TRUE(ini->recv().empty());
  ini->data_out(0x40, kReservedTag, 1, 4096, std::span(data).subspan(4096, 4096), true);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::r2t);
  EXPECT_EQ(pdus[0].buffer_offset(), 8192u);
  EXPECT_EQ(pdus[0].r2t().desired_data_transfer_length(), 8192u);
  EXPECT_EQ(pdus[0].r2t().r2t_sn(), 0u);
  EXPECT_EQ(pdus[0].stat_sn(), stat_sn);
  ini->data_out(0x40, pdus[0].ttt(), 0, 8192, std::span(data).subspan(8192, 8192), true);
  pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::r2t);
  EXPECT_EQ(pdus[0].buffer_offset(), 16384u);
  EXPECT_EQ(pdus[0].r2t().desired_data_transfer_length(), 4096u);
  EXPECT_EQ(pdus[0].r2t().r2t_sn(), 1u);
  ini->data_out(0x40, pdus[0].ttt(), 0, 16384, std::span(data).subspan(16384, 4096), true);
  pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::scsi_response);
  EXPECT_EQ(pdus[0].response().status(), 0);
  EXPECT_EQ(pdus[0].response().exp_data_sn(), 2u);
  EXPECT_EQ(pdus[0].stat_sn(), stat_sn);
  EXPECT_EQ(store_read(targets, 300, 40), data);
}

TEST_F(SessionTest, EarlyFinalBitOnUnsolicitedDataSolicitsTheRest) {
  // RFC 7143 11.7.1: F ends the unsolicited sequence even short of
  // FirstBurstLength; the target must solicit the rest, not wait for it.
  auto ini = make();
  ini->login_ready({{"InitialR2T", "No"},
                    {"ImmediateData", "No"},
                    {"FirstBurstLength", "8192"},
                    {"MaxBurstLength", "8192"}});
  auto data = pattern(16 * kBlockSize, 0x21);  // 8192
  Command c;
  c.itt = 0x48;
  c.cdb = write10_cdb(400, 16);
  c.write = true;
  c.final_bit = false;
  c.edtl = 8192;
  ini->command(c);
  ini->data_out(0x48, kReservedTag, 0, 0, std::span(data).subspan(0, 2048), true);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::r2t);
  EXPECT_EQ(pdus[0].buffer_offset(), 2048u);
  EXPECT_EQ(pdus[0].r2t().desired_data_transfer_length(), 6144u);
  ini->data_out(0x48, pdus[0].ttt(), 0, 2048, std::span(data).subspan(2048, 6144), true);
  pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::scsi_response);
  EXPECT_EQ(pdus[0].response().status(), 0);
  EXPECT_EQ(ini->read10(400, 16, 0x49), data);
}

TEST_F(SessionTest, ImmediatePlusUnsolicitedDataCoverTheWholeWrite) {
  auto ini = make();
  ini->login_ready({{"InitialR2T", "No"}, {"ImmediateData", "Yes"}, {"FirstBurstLength", "65536"}});
  auto data = pattern(64 * kBlockSize, 0x99);  // 32768 < FirstBurstLength: no R2T at all
  auto pdus = ini->write10(50, data, 0x41, 3000);
  EXPECT_TRUE(only(pdus, Opcode::r2t).empty());
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::scsi_response);
  EXPECT_EQ(pdus[0].response().status(), 0);
  EXPECT_EQ(pdus[0].response().exp_data_sn(), 0u);
  EXPECT_EQ(ini->read10(50, 64, 0x42), data);
}

TEST_F(SessionTest, LargeWriteThroughHelperRoundTrips) {
  auto ini = make();
  ini->login_ready({{"InitialR2T", "No"},
                    {"FirstBurstLength", "16384"},
                    {"MaxBurstLength", "65536"},
                    {"MaxOutstandingR2T", "4"}});
  auto data = pattern(1024 * kBlockSize, 0x21);  // 512 KiB
  auto pdus = ini->write10(1000, data, 0x43, 8192);
  EXPECT_EQ(status_of(pdus, 0x43), std::optional<uint8_t>(0));
  EXPECT_EQ(store_read(targets, 1000, 1024), data);
  EXPECT_FALSE(ini->conn().closing());
}

// ---------------------------------------------------------------- residuals

TEST_F(SessionTest, ReadWithEdtlLargerThanCdbReportsUnderflow) {
  auto ini = make();
  ini->login_ready();
  auto written = pattern(4 * kBlockSize, 0x44);
  store_write(targets, 10, written);
  Command c;
  c.itt = 0x50;
  c.cdb = read10_cdb(10, 4);  // 2048 bytes
  c.read = true;
  c.edtl = 4096;
  ini->command(c);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  const Pdu& p = pdus[0];
  EXPECT_EQ(p.op(), Opcode::data_in);
  DataInHeader d = p.data_in();
  EXPECT_TRUE(d.final_bit());
  EXPECT_TRUE(d.underflow());
  EXPECT_FALSE(d.overflow());
  EXPECT_TRUE(d.status_present());
  EXPECT_EQ(d.status(), 0);
  EXPECT_EQ(d.residual_count(), 2048u);
  EXPECT_EQ(p.data, written);
}

TEST_F(SessionTest, ReadWithEdtlSmallerThanCdbReportsOverflow) {
  auto ini = make();
  ini->login_ready({{"MaxRecvDataSegmentLength", "512"}});
  auto written = pattern(8 * kBlockSize, 0x45);
  store_write(targets, 20, written);
  Command c;
  c.itt = 0x51;
  c.cdb = read10_cdb(20, 8);  // 4096 bytes
  c.read = true;
  c.edtl = 1024;
  ini->command(c);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 2u);
  std::vector<uint8_t> got;
  for (const auto& p : pdus) {
    EXPECT_EQ(p.op(), Opcode::data_in);
    got.insert(got.end(), p.data.begin(), p.data.end());
  }
  EXPECT_EQ(got, std::vector<uint8_t>(written.begin(), written.begin() + 1024));  // only EDTL bytes
  EXPECT_FALSE(pdus[0].data_in().final_bit());
  EXPECT_FALSE(pdus[0].data_in().status_present());
  EXPECT_FALSE(pdus[0].data_in().overflow());
  DataInHeader last = pdus[1].data_in();
  EXPECT_TRUE(last.final_bit());
  EXPECT_TRUE(last.overflow());
  EXPECT_FALSE(last.underflow());
  EXPECT_TRUE(last.status_present());
  EXPECT_EQ(last.residual_count(), 3072u);
}

TEST_F(SessionTest, InquiryWithZeroEdtlReportsOverflowAndSendsNoData) {
  auto ini = make();
  ini->login_ready();
  Command c;
  c.itt = 0x52;
  c.cdb = inquiry_cdb(36);
  c.edtl = 0;
  ini->command(c);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  const Pdu& r = pdus[0];
  EXPECT_EQ(r.op(), Opcode::scsi_response);
  EXPECT_EQ(r.response().status(), 0);
  EXPECT_TRUE(r.response().overflow());
  EXPECT_FALSE(r.response().underflow());
  EXPECT_EQ(r.response().residual_count(), 36u);
  EXPECT_EQ(r.response().exp_data_sn(), 0u);  // no Data-In went out
  EXPECT_TRUE(r.data.empty());
}

TEST_F(SessionTest, FailedReadSendsSenseInTheResponse) {
  auto ini = make();
  ini->login_ready();
  Command c;
  c.itt = 0x53;
  c.cdb = read10_cdb(uint32_t(kBlocks) - 1, 2);  // runs off the end
  c.read = true;
  c.edtl = 1024;
  ini->command(c);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::scsi_response);
  EXPECT_EQ(pdus[0].response().status(), scsi::status::kCheckCondition);
  Sense s = sense_of(pdus[0]);
  EXPECT_EQ(s.key, 0x05);
  EXPECT_EQ(s.asc, 0x21);  // LBA out of range
}

// ---------------------------------------------------------------- limits

TEST_F(SessionTest, WriteBeyondMaxTaskBytesFailsAfterUnsolicitedData) {
  ConnectionConfig cfg;
  cfg.engine.max_task_bytes = 64 * 1024;
  auto ini = make(cfg);
  ini->login_ready({{"InitialR2T", "No"}, {"ImmediateData", "Yes"}, {"FirstBurstLength", "8192"}});
  auto data = pattern(256 * kBlockSize, 0x66);  // 128 KiB > max_task_bytes
  Command c;
  c.itt = 0x60;
  c.cdb = write10_cdb(0, 256);
  c.write = true;
  c.final_bit = false;
  c.edtl = uint32_t(data.size());
  c.data.assign(data.begin(), data.begin() + 4096);
  ini->command(c);
  EXPECT_TRUE(ini->recv().empty());  // unsolicited data still to come
  ini->data_out(0x60, kReservedTag, 0, 4096, std::span(data).subspan(4096, 4096), true);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::scsi_response);
  EXPECT_EQ(pdus[0].itt(), 0x60u);
  EXPECT_EQ(pdus[0].response().status(), scsi::status::kCheckCondition);
  Sense s = sense_of(pdus[0]);
  EXPECT_EQ(s.key, 0x05);
  EXPECT_EQ(s.asc, 0x24);
  EXPECT_FALSE(ini->conn().closing());
  EXPECT_EQ(store_read(targets, 0, 16), std::vector<uint8_t>(16 * kBlockSize, 0));  // nothing written
  // The task is gone: its ITT is free again.
  EXPECT_EQ(ini->read10(0, 1, 0x60), std::vector<uint8_t>(kBlockSize, 0));
}

// Logs in with no unsolicited data and sends a 128 KiB WRITE(10): over a
// 64 KiB max_task_bytes it must fail at once, without an R2T.
std::vector<Pdu> oversized_write_without_data(Initiator& ini, uint32_t itt) {
  ini.login_ready({{"InitialR2T", "Yes"}, {"ImmediateData", "No"}});
  Command c;
  c.itt = itt;
  c.cdb = write10_cdb(0, 256);
  c.write = true;
  c.edtl = 256 * kBlockSize;
  ini.command(c);
  return ini.recv();
}

TEST_F(SessionTest, WriteBeyondMaxTaskBytesWithoutUnsolicitedDataFailsAtOnce) {
  ConnectionConfig cfg;
  cfg.engine.max_task_bytes = 64 * 1024;
  auto ini = make(cfg);
  auto pdus = oversized_write_without_data(*ini, 0x61);
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::scsi_response);
  EXPECT_EQ(pdus[0].response().status(), scsi::status::kCheckCondition);
  EXPECT_TRUE(only(pdus, Opcode::r2t).empty());
}

// The iSCSI layer's own failures use the LU's sense format too: with D_SENSE
// set in the Control mode page (SPC-4 7.5.8) the over-limit write's CHECK
// CONDITION carries descriptor-format sense (72h), not fixed (70h).
TEST_F(SessionTest, IscsiLayerFailureHonoursDescriptorSense) {
  for (bool descriptor : {false, true}) {
    lu::ModeParameters mode = targets.unit->mode_parameters();
    mode.descriptor_sense = descriptor;
    targets.unit->set_mode_parameters(mode, std::nullopt);
    ConnectionConfig cfg;
    cfg.engine.max_task_bytes = 64 * 1024;
    auto ini = make(cfg);
    auto pdus = oversized_write_without_data(*ini, 0x62);
    ASSERT_EQ(pdus.size(), 1u);
    ASSERT_EQ(pdus[0].response().status(), scsi::status::kCheckCondition);
    ASSERT_GT(pdus[0].data.size(), 2u);
    EXPECT_EQ(pdus[0].data[2] & 0x7f, descriptor ? 0x72 : 0x70) << "descriptor=" << descriptor;
    Sense s = sense_of(pdus[0]);
    EXPECT_EQ(s.key, 0x05);
    EXPECT_EQ(s.asc, 0x24);
    EXPECT_EQ(s.ascq, 0x00);
  }
}

TEST_F(SessionTest, BufferBudgetDefersR2tsUntilAnotherWriteFinishes) {
  ConnectionConfig cfg;
  cfg.engine.max_buffered_bytes = 16 * 1024;
  auto ini = make(cfg);
  ini->login_ready({{"InitialR2T", "Yes"}, {"ImmediateData", "No"}});
  auto a = pattern(32 * kBlockSize, 0x01);  // 16 KiB: the whole budget
  auto b = pattern(32 * kBlockSize, 0x02);
  Command ca;
  ca.itt = 0x70;
  ca.cdb = write10_cdb(0, 32);
  ca.write = true;
  ca.edtl = 16384;
  ini->command(ca);
  auto ra = ini->recv();
  ASSERT_EQ(ra.size(), 1u);
  Command cb = ca;
  cb.itt = 0x71;
  cb.cdb = write10_cdb(64, 32);
  ini->command(cb);
  EXPECT_TRUE(ini->recv().empty());  // no budget: its R2T waits
  ini->data_out(0x70, ra[0].ttt(), 0, 0, a);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 2u);
  EXPECT_EQ(pdus[0].op(), Opcode::scsi_response);
  EXPECT_EQ(pdus[0].itt(), 0x70u);
  EXPECT_EQ(pdus[1].op(), Opcode::r2t);
  EXPECT_EQ(pdus[1].itt(), 0x71u);
  ini->data_out(0x71, pdus[1].ttt(), 0, 0, b);
  pdus = ini->recv();
  EXPECT_EQ(status_of(pdus, 0x71), std::optional<uint8_t>(0));
  EXPECT_EQ(store_read(targets, 0, 32), a);
  EXPECT_EQ(store_read(targets, 64, 32), b);
}

// ---------------------------------------------------------------- digests

TEST_F(SessionTest, DigestsOnEveryPduAfterLogin) {
  auto ini = make();
  ini->login_ready({{"HeaderDigest", "CRC32C"}, {"DataDigest", "CRC32C"}, {"MaxRecvDataSegmentLength", "1000"}});
  ASSERT_EQ(ini->negotiated["HeaderDigest"], "CRC32C");
  ASSERT_EQ(ini->negotiated["DataDigest"], "CRC32C");
  EXPECT_TRUE(ini->conn().frame_limits().header_digest);
  EXPECT_TRUE(ini->conn().frame_limits().data_digest);
  auto written = pattern(8 * kBlockSize, 0x3c);
  store_write(targets, 40, written);

  Command c;
  c.itt = 0x80;
  c.cdb = read10_cdb(40, 8);
  c.read = true;
  c.edtl = 4096;
  ini->command(c);
  // Look at the raw outbox before decoding: 1000-byte segments need padding.
  auto& raw = ini->conn().outbox().pdus();
  ASSERT_EQ(raw.size(), 5u);
  for (const auto& o : raw) {
    EXPECT_EQ(o.header_len, kBhsSize + kDigestSize);
    EXPECT_EQ(o.trailer_len, pad4(uint32_t(o.data.size())) - o.data.size() + kDigestSize);
  }
  EXPECT_EQ(ini->conn().outbox().bytes(), 5 * (kBhsSize + 4) + 4 * (1000 + 4) + (96 + 4));
  auto pdus = ini->recv();  // parse_frame checks every digest
  std::vector<uint8_t> got;
  for (const auto& p : pdus) got.insert(got.end(), p.data.begin(), p.data.end());
  EXPECT_EQ(got, written);

  // A header-only PDU carries a header digest and no data digest.
  ini->send(ini->nop_out_bhs(0x81, kReservedTag, true));
  ASSERT_EQ(ini->conn().outbox().pdus().size(), 1u);
  EXPECT_EQ(ini->conn().outbox().pdus()[0].header_len, kBhsSize + kDigestSize);
  EXPECT_EQ(ini->conn().outbox().pdus()[0].trailer_len, 0);
  ASSERT_EQ(ini->recv().size(), 1u);

  // Writes with digests work both ways.
  auto data = pattern(16 * kBlockSize, 0x4d);
  auto w = ini->write10(60, data, 0x82, 1000);
  EXPECT_EQ(status_of(w, 0x82), std::optional<uint8_t>(0));
  EXPECT_EQ(store_read(targets, 60, 16), data);
  EXPECT_FALSE(ini->conn().closing());
}

TEST_F(SessionTest, BadDataDigestOnDataOutIsRejectedAndCloses) {
  auto ini = make();
  ini->login_ready({{"HeaderDigest", "CRC32C"}, {"DataDigest", "CRC32C"}, {"ImmediateData", "No"}});
  Command c;
  c.itt = 0x90;
  c.cdb = write10_cdb(0, 8);
  c.write = true;
  c.edtl = 4096;
  ini->command(c);
  auto r2t = ini->recv();
  ASSERT_EQ(r2t.size(), 1u);
  ASSERT_EQ(r2t[0].op(), Opcode::r2t);
  uint32_t stat_sn = ini->exp_stat_sn;
  auto data = pattern(4096, 0x01);
  ini->send(ini->data_out_bhs(0x90, r2t[0].ttt(), 0, 0, true), data, {}, /*corrupt_data_digest=*/true);
  auto pdus = ini->recv();
  ASSERT_EQ(pdus.size(), 1u);
  EXPECT_EQ(pdus[0].op(), Opcode::reject);
  EXPECT_EQ(pdus[0].reject().reason(), 0x02);  // data (payload) digest error
  EXPECT_EQ(pdus[0].stat_sn(), stat_sn);
  ASSERT_EQ(pdus[0].data.size(), kBhsSize);
  EXPECT_EQ(pdus[0].data[0] & 0x3f, 0x05);
  EXPECT_EQ(load_be32(&pdus[0].data[16]), 0x90u);
  EXPECT_TRUE(ini->conn().closing());
  EXPECT_EQ(ini->conn().close_reason(), CloseReason::digest_error);
  EXPECT_EQ(store_read(targets, 0, 8), std::vector<uint8_t>(4096, 0));
}

TEST_F(SessionTest, BadHeaderDigestClosesWithoutReply) {
  auto ini = make();
  ini->login_ready({{"HeaderDigest", "CRC32C"}});
  ini->conn().on_frame_error(FrameError::header_digest, {});
  EXPECT_TRUE(ini->conn().closing());
  EXPECT_EQ(ini->conn().close_reason(), CloseReason::digest_error);
  EXPECT_TRUE(ini->recv().empty());
}

TEST_F(SessionTest, OversizedDataSegmentIsAFrameError) {
  auto ini = make();
  ini->login_ready();
  uint32_t ours = ini->conn().frame_limits().max_data_segment;
  EXPECT_EQ(ours, 262144u);
  // Data-Out one byte beyond what we declared.
  ini->data_out(0x1, kReservedTag, 0, 0, std::vector<uint8_t>(ours + 1, 0));
  EXPECT_TRUE(ini->conn().closing());
  EXPECT_EQ(ini->conn().close_reason(), CloseReason::protocol_error);
}

}  // namespace
}  // namespace scsipub::iscsi::testing
