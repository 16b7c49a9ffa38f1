// A store with asynchronous verbs (as RbdStore over librbd's aio API): READ
// and WRITE are checked on the session's thread in arrival order, their verbs
// all start without a hand-off to the storage pool, complete in any order on
// another thread, and each command is answered as its own verb comes back.
// An aborted or cancelled command keeps its buffers until its verb is back.
#include <gtest/gtest.h>

#include <deque>
#include <thread>

#include "common/bytes.h"
#include "session/harness.h"
#include "session/manual_executor.h"

namespace scsipub::iscsi::testing {
namespace {

// Holds every verb until the test completes it, then runs it on the memory
// store and reports from another thread, as librbd's callback thread would.
class AsyncStore final : public storage::BlockStore {
 public:
  explicit AsyncStore(std::shared_ptr<storage::BlockStore> inner) : inner_(std::move(inner)) {}
  uint64_t block_count() const override { return inner_->block_count(); }
  bool read_only() const override { return false; }
  bool thin_provisioned() const override { return false; }
  storage::IoStatus read(uint64_t lba, std::span<uint8_t> out) override { return inner_->read(lba, out); }
  storage::IoStatus write(uint64_t lba, std::span<const uint8_t> in) override { return inner_->write(lba, in); }
  storage::IoStatus unmap(uint64_t lba, uint64_t blocks) override { return inner_->unmap(lba, blocks); }
  storage::IoStatus flush() override {
    ++flushes;
    return storage::IoStatus::ok;
  }
  storage::LbaRun lba_status(uint64_t lba) const override { return inner_->lba_status(lba); }

  bool async_io() const override { return true; }
  void read_async(uint64_t lba, std::span<uint8_t> out, storage::IoDone done) override {
    verbs_.push_back({[this, lba, out] { return inner_->read(lba, out); }, std::move(done), false});
  }
  void write_async(uint64_t lba, std::span<const uint8_t> in, bool flush_after, storage::IoDone done) override {
    verbs_.push_back({[this, lba, in] { return inner_->write(lba, in); }, std::move(done), flush_after});
  }

  size_t in_flight() const { return verbs_.size(); }
  bool flush_after(size_t i) const { return verbs_.at(i).flush_after; }
  // Completes the i-th verb still in flight, on a thread of its own.
  void complete(size_t i, std::optional<storage::IoStatus> forced = std::nullopt) {
    ASSERT_LT(i, verbs_.size());
    Verb v = std::move(verbs_[i]);
    verbs_.erase(verbs_.begin() + static_cast<std::ptrdiff_t>(i));
    std::thread([&v, forced] {
      storage::IoStatus st = v.run();
      v.done(forced.value_or(st));
    }).join();
  }
  int flushes = 0;

 private:
  struct Verb {
    std::function<storage::IoStatus()> run;
    storage::IoDone done;
    bool flush_after;
  };
  std::shared_ptr<storage::BlockStore> inner_;
  std::deque<Verb> verbs_;
};

class AsyncStoreTest : public SessionTest {
 protected:
  void SetUp() override {
    async = std::make_shared<AsyncStore>(targets.store);
    targets.serve_from(async);
    ini = make();
    ini->login_ready();
    ini->conn().set_executor(&executor);
  }
  void TearDown() override {
    // The transport keeps the connection until every verb is back.
    while (async->in_flight() != 0) async->complete(0);
    executor.resume();
    while (executor.pending() != 0) executor.complete();
  }
  // Completes the i-th verb in flight and brings its completion to the loop.
  std::vector<Pdu> complete(size_t i, std::optional<storage::IoStatus> forced = std::nullopt) {
    async->complete(i, forced);
    EXPECT_EQ(executor.resumable(), 1u) << "the completion did not come back through the executor";
    executor.resume();
    return ini->recv();
  }
  ManualExecutor executor;
  std::shared_ptr<AsyncStore> async;
  std::unique_ptr<Initiator> ini;
};

TEST_F(AsyncStoreTest, VerbsStartTogetherAndEachCommandIsAnsweredAsItsVerbCompletes) {
  auto a = pattern(8 * kBlockSize, 0x11);
  auto b = pattern(8 * kBlockSize, 0x22);
  ASSERT_EQ(targets.store->write(0, a), storage::IoStatus::ok);
  ini->command(read10_command(0x10, 0));
  ini->command(write10_command(0x11, 64, b));
  ini->command(read10_command(0x12, 0));
  ini->conn().start_commands();
  EXPECT_EQ(executor.pending(), 0u) << "a hand-off to the storage pool";
  ASSERT_EQ(async->in_flight(), 3u) << "the verbs did not all start";
  EXPECT_TRUE(ini->recv().empty()) << "answered before its verb completed";
  EXPECT_TRUE(ini->conn().executing()) << "the transport may free the connection under the verbs";

  auto pdus = complete(2);  // the last read first
  EXPECT_EQ(data_in_bytes(pdus, 0x12), a);
  EXPECT_EQ(status_of(pdus, 0x12), std::optional<uint8_t>(0));
  EXPECT_EQ(status_count(pdus, 0x10) + status_count(pdus, 0x11), 0u);
  pdus = complete(1);  // the write
  EXPECT_EQ(status_of(pdus, 0x11), std::optional<uint8_t>(0));
  std::vector<uint8_t> now(b.size());
  ASSERT_EQ(targets.store->read(64, now), storage::IoStatus::ok);
  EXPECT_EQ(now, b);
  pdus = complete(0);
  EXPECT_EQ(data_in_bytes(pdus, 0x10), a);
  EXPECT_FALSE(ini->conn().executing());
}

TEST_F(AsyncStoreTest, AFailedVerbEndsItsCommandWithTheSenseOfTheSynchronousPath) {
  ini->command(write10_command(0x20, 8, pattern(8 * kBlockSize, 0x33)));
  ini->command(read10_command(0x21, 8));
  ini->conn().start_commands();
  ASSERT_EQ(async->in_flight(), 2u);
  auto pdus = complete(0, storage::IoStatus::io_error);
  const auto first = only(pdus, Opcode::scsi_response);
  ASSERT_EQ(first.size(), 1u);
  const Pdu& r = first[0];
  EXPECT_EQ(r.response().status(), 0x02);  // CHECK CONDITION
  ASSERT_GE(r.data.size(), 2u + 14u);
  EXPECT_EQ(r.data[2 + 2] & 0x0F, 0x03) << "MEDIUM ERROR";
  EXPECT_EQ(r.data[2 + 12], 0x0C) << "WRITE ERROR";
  pdus = complete(0, storage::IoStatus::io_error);
  EXPECT_TRUE(data_in_bytes(pdus, 0x21).empty()) << "data sent with CHECK CONDITION";
  const auto responses = only(pdus, Opcode::scsi_response);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].data[2 + 12], 0x11) << "UNRECOVERED READ ERROR";
}

TEST_F(AsyncStoreTest, ForceUnitAccessAsksTheVerbToFlushWithoutAHandOff) {
  Command c = write10_command(0x30, 8, pattern(8 * kBlockSize, 0x44));
  c.cdb[1] |= 0x08;  // FUA (SBC-3 5.35)
  ini->command(c);
  ini->command(write10_command(0x31, 16, pattern(8 * kBlockSize, 0x45)));
  ini->conn().start_commands();
  EXPECT_EQ(executor.pending(), 0u);
  ASSERT_EQ(async->in_flight(), 2u);
  EXPECT_TRUE(async->flush_after(0));
  EXPECT_FALSE(async->flush_after(1));
}

TEST_F(AsyncStoreTest, AnAbortedCommandKeepsItsBuffersUntilItsVerbIsBackAndSendsNoStatus) {
  ini->command(read10_command(0x40, 0));
  ini->conn().start_commands();
  ASSERT_EQ(async->in_flight(), 1u);
  uint32_t sn = ini->cmd_sn - 1;
  ini->send(ini->tmf_bhs(0x41, 1 /* ABORT TASK */, 0x40, sn));
  ASSERT_EQ(only(ini->recv(), Opcode::task_mgmt_response).size(), 1u);
  ini->command(read10_command(0x40, 8));  // the tag, reused at once
  ini->conn().start_commands();
  ASSERT_EQ(async->in_flight(), 2u);
  auto pdus = complete(0);  // the aborted read writes into its buffer now (ASan: not freed)
  EXPECT_EQ(status_count(pdus, 0x40), 0u);
  pdus = complete(0);
  EXPECT_EQ(status_count(pdus, 0x40), 1u);
}

TEST_F(AsyncStoreTest, ACancelledConnectionStaysExecutingUntilEveryVerbIsBack) {
  ini->command(write10_command(0x50, 0, pattern(8 * kBlockSize, 0x55)));
  ini->command(read10_command(0x51, 0));
  ini->conn().start_commands();
  ASSERT_EQ(async->in_flight(), 2u);
  ini->conn().cancel_execution();
  complete(1);
  EXPECT_TRUE(ini->conn().executing()) << "freed with a verb still writing into its buffers";
  complete(0);
  EXPECT_FALSE(ini->conn().executing());
}

// A deep queue of large reads holds a bounded amount of read data in flight;
// the rest starts as verbs come back.
TEST_F(AsyncStoreTest, ReadDataInFlightIsBounded) {
  constexpr uint16_t kBlocksPerRead = 1024;  // 512 KiB
  for (uint32_t i = 0; i < 8; ++i) ini->command(read10_command(0x60 + i, 0, kBlocksPerRead));
  ini->conn().start_commands();
  const size_t first = async->in_flight();
  EXPECT_GE(first, 2u) << "no concurrency";
  EXPECT_LE(first, 5u) << "more than ~2 MiB of reads in flight";
  complete(0);
  EXPECT_EQ(async->in_flight(), first) << "the next read did not start when one came back";
  size_t answered = 1;
  while (async->in_flight() != 0) {
    complete(0);
    ++answered;
  }
  EXPECT_EQ(answered, 8u);
}

// A command that may block (SYNCHRONIZE CACHE) still goes to the storage pool,
// behind the verbs already started; what follows it waits for it.
TEST_F(AsyncStoreTest, ACommandThatMayBlockStillGoesToTheExecutor) {
  ini->command(write10_command(0x70, 0, pattern(8 * kBlockSize, 0x66)));
  Command sync;
  sync.itt = 0x71;
  sync.cdb = {0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  ini->command(sync);
  ini->command(read10_command(0x72, 0));
  ini->conn().start_commands();
  EXPECT_EQ(async->in_flight(), 1u) << "the read overtook the flush";
  ASSERT_EQ(executor.pending(), 1u);
  executor.complete();
  auto pdus = ini->recv();
  EXPECT_EQ(status_of(pdus, 0x71), std::optional<uint8_t>(0));
  EXPECT_EQ(async->flushes, 1);
  EXPECT_EQ(async->in_flight(), 2u) << "the read behind the flush did not start";
}

}  // namespace
}  // namespace scsipub::iscsi::testing
