// PERSISTENT RESERVE OUT PREEMPT AND ABORT (SPC-4 5.9.11.5) against a write
// that another session holds open while its Data-Out is on the way: the write
// is aborted, writes nothing and, with TAS=0 in our Control mode page (SAM-5
// 5.6), ends without status; its initiator learns from REGISTRATIONS
// PREEMPTED and from ABORT TASK finding no task. Plain PREEMPT is the control:
// the same write then completes with status.
#include <gtest/gtest.h>

#include "scsi/lu_reservations.h"
#include "scsi/scsi_fixture.h"
#include "session/harness.h"

namespace scsipub::iscsi::testing {
namespace {

constexpr uint8_t kPrOut = 0x5f;  // SPC-4 6.16
constexpr uint8_t kRegister = 0x00;
constexpr uint8_t kPreempt = 0x04;
constexpr uint8_t kPreemptAndAbort = 0x05;
constexpr uint8_t kWriteExclusive = 0x01;
constexpr uint32_t kParamListLength = 24;  // SPC-4 6.16.3 basic parameter list
constexpr uint8_t kAbortTask = 1;          // RFC 7143 11.5.1
constexpr uint8_t kTmfNoTask = 1;          // RFC 7143 11.6.1 "task does not exist"

std::vector<uint8_t> pr_out_cdb(uint8_t service_action, uint8_t type) {
  std::vector<uint8_t> c(10, 0);
  c[0] = kPrOut;
  c[1] = service_action;
  c[2] = type;  // LU_SCOPE
  store_be32(&c[5], kParamListLength);
  return c;
}

std::vector<uint8_t> pr_out_params(uint64_t key, uint64_t service_action_key) {
  std::vector<uint8_t> p(kParamListLength, 0);
  store_be64(&p[0], key);
  store_be64(&p[8], service_action_key);
  return p;
}

// The SCSI status and sense of the response to `itt`, through the scsi
// tests' sense reader (fixed or descriptor format).
scsi::testing::Result result_of(const std::vector<Pdu>& pdus, uint32_t itt) {
  scsi::testing::Result r;
  for (const auto& p : pdus) {
    if (p.op() != Opcode::scsi_response || p.itt() != itt) continue;
    r.status = p.response().status();
    if (p.data.size() > 2) r.sense.assign(p.data.begin() + 2, p.data.end());
    return r;
  }
  ADD_FAILURE() << "no SCSI Response for ITT " << itt;
  r.status = 0xff;
  return r;
}

class PreemptAbortTest : public SessionTest {
 protected:
  void SetUp() override {
    targets.unit->set_extension(std::make_unique<scsi::LuReservations>());
    a = make();
    a->login_ready();
    b = make({}, "192.0.2.11");
    b->isid = {0x80, 0x12, 0x34, 0x56, 0x00, 0x02};  // another I_T nexus
    b->login_ready({{"ImmediateData", "No"}});       // writes wait for R2T + Data-Out
    ASSERT_TRUE(run_pr_out(*a, 0x10, kRegister, 0, 0, kKeyA).good());
    ASSERT_TRUE(run_pr_out(*b, 0x10, kRegister, 0, 0, kKeyB).good());
  }

  scsi::testing::Result run_pr_out(Initiator& ini, uint32_t itt, uint8_t service_action, uint8_t type,
                                   uint64_t key, uint64_t service_action_key) {
    Command c;
    c.itt = itt;
    c.cdb = pr_out_cdb(service_action, type);
    c.write = true;
    c.edtl = kParamListLength;
    auto params = pr_out_params(key, service_action_key);
    if (ini.negotiated["ImmediateData"] == "Yes") {
      c.data = params;
      ini.command(c);
      return result_of(ini.recv(), itt);
    }
    ini.command(c);
    auto r2t = only(ini.recv(), Opcode::r2t);
    EXPECT_EQ(r2t.size(), 1u);
    if (r2t.empty()) return {};
    ini.data_out(itt, r2t[0].ttt(), 0, 0, params);
    return result_of(ini.recv(), itt);
  }

  // B's WRITE(10) of 8 blocks at kLba, answered with an R2T; returns its TTT.
  uint32_t start_write_on_b() {
    Command w;
    w.itt = kWriteItt;
    w.cdb = write10_cdb(kLba, 8);
    w.write = true;
    w.edtl = 8 * kBlockSize;
    write_cmd_sn = b->cmd_sn;
    b->command(w);
    auto pdus = b->recv();
    EXPECT_EQ(pdus.size(), 1u);
    if (pdus.empty()) return kReservedTag;
    EXPECT_EQ(pdus[0].r2t().desired_data_transfer_length(), 8 * kBlockSize);
    return pdus[0].ttt();
  }

  std::vector<uint8_t> stored() {
    std::vector<uint8_t> v(8 * kBlockSize);
    EXPECT_EQ(targets.store->read(kLba, v), storage::IoStatus::ok);
    return v;
  }

  static constexpr uint64_t kKeyA = 0xaaaa;
  static constexpr uint64_t kKeyB = 0xbbbb;
  static constexpr uint64_t kLba = 100;
  static constexpr uint32_t kWriteItt = 0x77;
  std::unique_ptr<Initiator> a;
  std::unique_ptr<Initiator> b;
  uint32_t write_cmd_sn = 0;
};

TEST_F(PreemptAbortTest, AbortedWriteWaitingForDataOutWritesNothingAndEndsWithoutStatus) {
  uint32_t ttt = start_write_on_b();
  ASSERT_TRUE(run_pr_out(*a, 0x20, kPreemptAndAbort, kWriteExclusive, kKeyA, kKeyB).good());

  // B's data arrives after the abort: dropped, nothing written, no status.
  b->data_out(kWriteItt, ttt, 0, 0, pattern(8 * kBlockSize, 0x3c));
  EXPECT_TRUE(b->recv().empty());
  EXPECT_FALSE(b->conn().closing());
  EXPECT_EQ(stored(), std::vector<uint8_t>(8 * kBlockSize, 0));

  // B's initiator cleans up: ABORT TASK finds no task (RFC 7143 11.6.1).
  b->send(b->tmf_bhs(0x78, kAbortTask, kWriteItt, write_cmd_sn));
  auto tmf = b->recv();
  ASSERT_EQ(tmf.size(), 1u);
  EXPECT_EQ(tmf[0].tmf().response(), kTmfNoTask);

  // Its next command sees REGISTRATIONS PREEMPTED (SPC-4 5.9.11.5).
  Command tur;
  tur.itt = 0x79;
  tur.cdb = tur_cdb();
  b->command(tur);
  EXPECT_TRUE(result_of(b->recv(), 0x79).is(0x06, 0x2a, 0x05));

  // The session lives on: B, no longer registered, writes again (no reservation).
  auto again = pattern(8 * kBlockSize, 0x5d);
  auto pdus = b->write10(kLba, again, 0x7a);
  EXPECT_EQ(status_of(pdus, 0x7a), std::optional<uint8_t>(scsi::status::kGood));
  EXPECT_EQ(stored(), again);
}

TEST_F(PreemptAbortTest, AbortDropsTheTaskBeforeItsDataArrivesInPieces) {
  uint32_t ttt = start_write_on_b();
  auto data = pattern(8 * kBlockSize, 0x4e);
  b->data_out(kWriteItt, ttt, 0, 0, std::span(data).first(kBlockSize), /*final_bit=*/false);
  EXPECT_TRUE(b->recv().empty());
  ASSERT_TRUE(run_pr_out(*a, 0x21, kPreemptAndAbort, kWriteExclusive, kKeyA, kKeyB).good());
  b->data_out(kWriteItt, ttt, 1, kBlockSize, std::span(data).subspan(kBlockSize));
  EXPECT_TRUE(b->recv().empty());
  EXPECT_EQ(stored(), std::vector<uint8_t>(8 * kBlockSize, 0));
}

TEST_F(PreemptAbortTest, PlainPreemptLetsTheWaitingWriteComplete) {
  // Not aborted, the task runs once its data is in; the unit attention the
  // preemption raised is what it reports (SAM-5 5.14), so nothing is written.
  uint32_t ttt = start_write_on_b();
  ASSERT_TRUE(run_pr_out(*a, 0x22, kPreempt, kWriteExclusive, kKeyA, kKeyB).good());
  b->data_out(kWriteItt, ttt, 0, 0, pattern(8 * kBlockSize, 0x6f));
  EXPECT_TRUE(result_of(b->recv(), kWriteItt).is(0x06, 0x2a, 0x05));
  EXPECT_EQ(stored(), std::vector<uint8_t>(8 * kBlockSize, 0));
}

TEST_F(PreemptAbortTest, PreemptAndAbortLeavesThePreemptingNexusTasksAlone) {
  // A preempts B's key while A itself has a write open: only B's tasks go.
  Command w;
  w.itt = 0x30;
  w.cdb = write10_cdb(kLba, 1);
  w.write = true;
  w.edtl = kBlockSize;
  a->command(w);  // ImmediateData=Yes but no data sent: waits for the R2T's Data-Out
  auto r2t = only(a->recv(), Opcode::r2t);
  ASSERT_EQ(r2t.size(), 1u);
  ASSERT_TRUE(run_pr_out(*a, 0x31, kPreemptAndAbort, kWriteExclusive, kKeyA, kKeyB).good());
  auto data = pattern(kBlockSize, 0x7a);
  a->data_out(0x30, r2t[0].ttt(), 0, 0, data);
  EXPECT_EQ(status_of(a->recv(), 0x30), std::optional<uint8_t>(scsi::status::kGood));
}

}  // namespace
}  // namespace scsipub::iscsi::testing
