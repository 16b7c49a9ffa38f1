// Commands whose execution is handed to an executor that reports back later,
// as the server's storage pool does: nothing is answered before the executor
// comes back, a session's commands run in arrival order one batch at a time,
// ABORT TASK of a running command suppresses its status and frees its ITT,
// a cancelled connection skips what has not started, and Data-In queued while
// the transport was writing keeps its buffer until it is written.
#include <gtest/gtest.h>


#include "session/harness.h"
#include "session/manual_executor.h"

namespace scsipub::iscsi::testing {
namespace {

constexpr uint8_t kAbortTask = 1;
constexpr uint8_t kTmfComplete = 0;

class DeferredExecutionTest : public SessionTest {
 protected:
  void SetUp() override { log_in(); }
  void log_in() {
    ini = make();
    ini->login_ready();
    ini->conn().set_executor(&executor);
  }
  void TearDown() override {
    // Nothing may stay submitted when the Connection goes (the transport
    // keeps it alive until its executor reports back).
    while (executor.pending() != 0) executor.complete();
  }
  ManualExecutor executor;
  std::unique_ptr<Initiator> ini;
};

TEST_F(DeferredExecutionTest, CommandsAreAnsweredWhenTheExecutorReportsBackInArrivalOrder) {
  auto first = pattern(8 * kBlockSize, 0x11);
  auto second = pattern(8 * kBlockSize, 0x22);
  ini->command(write10_command(0x10, 40, first));
  EXPECT_EQ(executor.pending(), 0u) << "submitted before the transport handled what it read";
  ini->conn().start_commands();
  ini->command(read10_command(0x11, 40));
  ini->command(write10_command(0x12, 40, second));
  ini->conn().start_commands();
  EXPECT_TRUE(ini->recv().empty()) << "answered before the executor ran the command";
  EXPECT_TRUE(ini->conn().executing());
  ASSERT_EQ(executor.pending(), 1u) << "one submission at a time per session";

  executor.complete();  // the write that arrived first, alone
  auto pdus = ini->recv();
  EXPECT_EQ(status_of(pdus, 0x10), std::optional<uint8_t>(0));
  EXPECT_FALSE(status_of(pdus, 0x11).has_value());
  ASSERT_EQ(executor.pending(), 1u) << "the two that waited go as one batch";

  executor.complete();
  pdus = ini->recv();
  // The read ran after the first write and before the second.
  EXPECT_EQ(data_in_bytes(pdus, 0x11), first);
  EXPECT_EQ(status_of(pdus, 0x11), std::optional<uint8_t>(0));
  EXPECT_EQ(status_of(pdus, 0x12), std::optional<uint8_t>(0));
  EXPECT_FALSE(ini->conn().executing());
}

TEST_F(DeferredExecutionTest, AbortTaskOfARunningCommandSuppressesItsStatusAndFreesItsItt) {
  ini->command(read10_command(0x20, 0));
  ini->conn().start_commands();
  ASSERT_EQ(executor.pending(), 1u);
  uint32_t sn = ini->cmd_sn - 1;
  ini->send(ini->tmf_bhs(0x21, kAbortTask, 0x20, sn));
  auto pdus = ini->recv();
  ASSERT_EQ(only(pdus, Opcode::task_mgmt_response).size(), 1u);
  EXPECT_EQ(only(pdus, Opcode::task_mgmt_response)[0].tmf().response(), kTmfComplete);

  // The initiator may reuse the tag at once (RFC 7143 11.5.1).
  ini->command(read10_command(0x20, 8));
  EXPECT_FALSE(ini->conn().closing()) << "the aborted task's ITT still counted as outstanding";
  executor.complete();  // the aborted read: no status
  pdus = ini->recv();
  EXPECT_EQ(status_count(pdus, 0x20), 0u);
  ASSERT_EQ(executor.pending(), 1u);
  executor.complete();  // the new command with that tag
  pdus = ini->recv();
  EXPECT_EQ(status_count(pdus, 0x20), 1u);
}

TEST_F(DeferredExecutionTest, AnAbortedQueuedCommandsTagReusedAtOnceIsNotExecutedInItsPlace) {
  ini->command(read10_command(0x50, 0));
  ini->conn().start_commands();  // running
  ini->command(read10_command(0x51, 0));  // queued behind it
  uint32_t sn = ini->cmd_sn - 1;
  ini->send(ini->tmf_bhs(0x52, kAbortTask, 0x51, sn));
  // The tag comes back on a write whose data has not arrived (an R2T asks for it).
  Command w;
  w.itt = 0x51;
  w.cdb = write10_cdb(0, 8);
  w.write = true;
  w.edtl = 8 * kBlockSize;
  ini->command(w);
  auto pdus = ini->recv();
  ASSERT_EQ(only(pdus, Opcode::r2t).size(), 1u);
  executor.complete();
  EXPECT_EQ(executor.pending(), 0u) << "the write ran before its data arrived";
  pdus = ini->recv();
  EXPECT_EQ(status_count(pdus, 0x51), 0u);
  EXPECT_EQ(status_count(pdus, 0x50), 1u);
}

TEST_F(DeferredExecutionTest, CancelledExecutionSkipsWhatHasNotStarted) {
  auto before = pattern(8 * kBlockSize, 0x33);
  ASSERT_EQ(targets.store->write(64, before), storage::IoStatus::ok);
  ini->command(read10_command(0x30, 0));
  ini->conn().start_commands();
  ini->command(write10_command(0x31, 64, pattern(8 * kBlockSize, 0x44)));  // queued behind the read
  ini->conn().cancel_execution();
  executor.complete();
  EXPECT_EQ(executor.pending(), 0u) << "a cancelled connection submitted more";
  EXPECT_FALSE(ini->conn().executing());
  auto pdus = ini->recv();
  EXPECT_EQ(status_count(pdus, 0x30), 0u);
  EXPECT_EQ(status_count(pdus, 0x31), 0u);
  std::vector<uint8_t> now(8 * kBlockSize);
  ASSERT_EQ(targets.store->read(64, now), storage::IoStatus::ok);
  EXPECT_EQ(now, before) << "a command queued behind the cancelled batch wrote";
}

// A read is first tried on the loop without waiting: with its data in the
// page cache it is answered at once; a write behind it still goes to the
// executor, and a read behind that write waits for it.
TEST_F(DeferredExecutionTest, AReadWhoseDataIsCachedIsAnsweredWithoutAHandOff) {
  auto before = pattern(8 * kBlockSize, 0x35);
  auto after = pattern(8 * kBlockSize, 0x36);
  ASSERT_EQ(targets.store->write(16, before), storage::IoStatus::ok);
  targets.device->cached = true;
  ini->command(read10_command(0x70, 16));
  ini->command(write10_command(0x71, 16, after));
  ini->command(read10_command(0x72, 16));
  ini->conn().start_commands();
  auto pdus = ini->recv();
  EXPECT_EQ(data_in_bytes(pdus, 0x70), before);
  EXPECT_EQ(status_count(pdus, 0x71) + status_count(pdus, 0x72), 0u) << "overtook the write, or it did not wait";
  ASSERT_EQ(executor.pending(), 1u);
  executor.complete();
  pdus = ini->recv();
  EXPECT_EQ(status_of(pdus, 0x71), std::optional<uint8_t>(0));
  EXPECT_EQ(data_in_bytes(pdus, 0x72), after);
}

TEST_F(DeferredExecutionTest, AReadWhoseDataIsNotCachedIsTriedOnceThenHandedOffWithWhatFollows) {
  auto data = pattern(8 * kBlockSize, 0x37);
  ASSERT_EQ(targets.store->write(32, data), storage::IoStatus::ok);
  ini->command(read10_command(0x73, 32));
  ini->command(read10_command(0x74, 32));
  ini->conn().start_commands();
  EXPECT_TRUE(ini->recv().empty()) << "answered without its data";
  EXPECT_EQ(targets.device->read_now_calls, 1) << "the read behind the miss was tried too, out of order";
  ASSERT_EQ(executor.pending(), 1u);
  EXPECT_TRUE(ini->conn().executing());
  executor.complete();
  EXPECT_EQ(executor.pending(), 0u) << "the two reads were not one batch";
  auto pdus = ini->recv();
  EXPECT_EQ(data_in_bytes(pdus, 0x73), data);
  EXPECT_EQ(data_in_bytes(pdus, 0x74), data);
  EXPECT_EQ(targets.device->read_now_calls, 1);
}

TEST_F(DeferredExecutionTest, DataInQueuedDuringAWriteKeepsItsBufferUntilWritten) {
  auto p = pattern(8 * kBlockSize, 0x55);
  auto q = pattern(8 * kBlockSize, 0x66);
  ASSERT_EQ(targets.store->write(100, p), storage::IoStatus::ok);
  ASSERT_EQ(targets.store->write(200, q), storage::IoStatus::ok);

  ini->command(read10_command(0x40, 100));
  ini->conn().start_commands();
  // The transport starts writing what is queued (a NOP-In answer)...
  ini->send(ini->nop_out_bhs(0x41, kReservedTag, true));
  std::vector<OutPdu> writing;
  ini->conn().outbox().take(writing);
  ASSERT_EQ(writing.size(), 1u);
  // ...the read completes meanwhile, then that write finishes.
  executor.complete();
  ini->conn().on_flushed();
  // A second read would take a recycled buffer and overwrite the first's data.
  ini->command(read10_command(0x42, 200));
  ini->conn().start_commands();
  executor.complete();
  auto pdus = ini->recv();
  EXPECT_EQ(data_in_bytes(pdus, 0x40), p) << "Data-In pointed into a buffer reused before it was written";
  EXPECT_EQ(data_in_bytes(pdus, 0x42), q);
}

}  // namespace
}  // namespace scsipub::iscsi::testing

namespace scsipub::iscsi::testing {
namespace {

// A peer that sends reads and stops reading their data must not make the
// target produce a CmdSN window of it: a batch carries about 1 MiB of reads,
// and the next batch waits until the transport has written the last one.
TEST_F(DeferredExecutionTest, ReadDataWaitsForTheTransportBeforeTheNextBatch) {
  constexpr uint16_t kBlocksPerRead = 1024;  // 512 KiB
  for (uint32_t i = 0; i < 6; ++i) {
    Command c;
    c.itt = 0x80 + i;
    c.cdb = read10_cdb(i * kBlocksPerRead % (kBlocks - kBlocksPerRead), kBlocksPerRead);
    c.read = true;
    c.edtl = kBlocksPerRead * kBlockSize;
    ini->command(c);
  }
  ini->conn().start_commands();
  ASSERT_EQ(executor.pending(), 1u);
  executor.complete();  // the first 1 MiB: two reads
  EXPECT_EQ(executor.pending(), 0u) << "a second batch started with 1 MiB of read data unsent";
  auto pdus = ini->recv();  // the transport writes: the next batch may go
  EXPECT_EQ(status_count(pdus, 0x80) + status_count(pdus, 0x81), 2u);
  EXPECT_EQ(status_count(pdus, 0x82), 0u);
  ASSERT_EQ(executor.pending(), 1u);
  executor.complete();
  EXPECT_EQ(executor.pending(), 0u);
  pdus = ini->recv();
  EXPECT_EQ(status_count(pdus, 0x82) + status_count(pdus, 0x83), 2u);
  ASSERT_EQ(executor.pending(), 1u);
  executor.complete();
  pdus = ini->recv();
  EXPECT_EQ(status_count(pdus, 0x84) + status_count(pdus, 0x85), 2u);
  EXPECT_FALSE(ini->conn().executing());
}

}  // namespace
}  // namespace scsipub::iscsi::testing

namespace scsipub::iscsi::testing {
namespace {

// A disk whose reads and writes are memory work (a free-tier disk on tmpfs,
// or blocks never written) skips the hand-off: its commands are answered as
// soon as the transport starts them, with no submission to the executor. A
// command that may block still goes to the executor, and what follows it
// waits for it.
class MemoryDiskExecutionTest : public DeferredExecutionTest {
 protected:
  void SetUp() override {
    targets.serve_from_memory();
    log_in();
  }
};

Command synchronize_cache_cmd(uint32_t itt) {
  Command c;
  c.itt = itt;
  c.cdb = {0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // SYNCHRONIZE CACHE(10), the whole LU
  return c;
}

TEST_F(MemoryDiskExecutionTest, ReadsAndWritesAreAnsweredWithoutAHandOff) {
  auto data = pattern(8 * kBlockSize, 0x71);
  ini->command(write10_command(0x60, 24, data));
  ini->command(read10_command(0x61, 24));
  EXPECT_TRUE(ini->recv().empty()) << "executed before the transport started the commands";
  ini->conn().start_commands();
  EXPECT_EQ(executor.pending(), 0u) << "memory work was handed to the executor";
  EXPECT_FALSE(ini->conn().executing());
  auto pdus = ini->recv();
  EXPECT_EQ(status_of(pdus, 0x60), std::optional<uint8_t>(0));
  EXPECT_EQ(status_of(pdus, 0x61), std::optional<uint8_t>(0));
  EXPECT_EQ(data_in_bytes(pdus, 0x61), data);
}

TEST_F(MemoryDiskExecutionTest, ACommandThatMayBlockGoesToTheExecutorAndWhatFollowsWaitsForIt) {
  auto before = pattern(8 * kBlockSize, 0x72);
  auto after = pattern(8 * kBlockSize, 0x73);
  ASSERT_EQ(targets.store->write(48, before), storage::IoStatus::ok);
  ini->command(read10_command(0x62, 48));
  ini->command(synchronize_cache_cmd(0x63));
  ini->command(write10_command(0x64, 48, after));
  ini->command(read10_command(0x65, 48));
  ini->conn().start_commands();
  auto pdus = ini->recv();
  EXPECT_EQ(data_in_bytes(pdus, 0x62), before) << "the read ahead of the flush waited for it";
  EXPECT_EQ(status_count(pdus, 0x63) + status_count(pdus, 0x64) + status_count(pdus, 0x65), 0u)
      << "answered before the executor ran the flush, or overtook it";
  ASSERT_EQ(executor.pending(), 1u);
  EXPECT_TRUE(ini->conn().executing());
  executor.complete();  // the flush and everything behind it, in order
  EXPECT_EQ(executor.pending(), 0u);
  pdus = ini->recv();
  EXPECT_EQ(status_of(pdus, 0x63), std::optional<uint8_t>(0));
  EXPECT_EQ(status_of(pdus, 0x64), std::optional<uint8_t>(0));
  EXPECT_EQ(data_in_bytes(pdus, 0x65), after);
}

TEST_F(MemoryDiskExecutionTest, AWriteWithForceUnitAccessGoesToTheExecutor) {
  Command c = write10_command(0x66, 8, pattern(8 * kBlockSize, 0x74));
  c.cdb[1] |= 0x08;  // FUA: SBC-3 5.35, the data must be durable before status
  ini->command(c);
  ini->conn().start_commands();
  EXPECT_TRUE(ini->recv().empty());
  ASSERT_EQ(executor.pending(), 1u);
  executor.complete();
  EXPECT_EQ(status_of(ini->recv(), 0x66), std::optional<uint8_t>(0));
}

}  // namespace
}  // namespace scsipub::iscsi::testing
