// RbdStore and the image operations against a real single-host cluster
// (scripts/ceph-test-cluster.sh; SCSIPUB_TEST_CEPH_ENV=<dir>/env). Skipped
// when no cluster is configured.
#include "storage/rbd_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rbd/librbd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "storage/ceph_test_env.h"
#include "storage/rbd_images.h"

namespace scsipub::storage {
namespace {

// An image with a recognisable pattern in its first and last blocks and zeros
// in between, so the import's zero skipping is exercised.
class PatternImage final : public ImageSource {
 public:
  explicit PatternImage(uint64_t size) : size_(size) {}
  uint64_t size_bytes() const override { return size_; }
  bool all_zeros() const override { return false; }
  int read_at(uint64_t offset, std::span<uint8_t> out) const override {
    for (size_t i = 0; i < out.size(); ++i) out[i] = byte_at(offset + i);
    return 0;
  }
  uint8_t byte_at(uint64_t off) const {
    if (off < kBlockSize || off >= size_ - kBlockSize) return static_cast<uint8_t>((off * 7 + 3) & 0xff);
    return 0;
  }

 private:
  uint64_t size_;
};

std::string unique(std::string_view what) {
  std::random_device rd;
  return fmt::format("t-{}-{:08x}", what, rd());
}

class RbdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = testing::ceph_test_config();
    if (!config_) GTEST_SKIP() << "SCSIPUB_TEST_CEPH_ENV not set: no Ceph cluster for this run";
    auto c = RbdCluster::connect(*config_);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cluster_ = c.value();
  }
  std::shared_ptr<RbdCluster> second_client() {
    auto c = RbdCluster::connect(*config_);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? c.value() : nullptr;
  }
  std::optional<RbdClusterConfig> config_;
  std::shared_ptr<RbdCluster> cluster_;
};

TEST_F(RbdTest, ConnectsAndKnowsItsAddress) {
  EXPECT_FALSE(cluster_->client_address().empty());
  EXPECT_FALSE(cluster_->blocklist(cluster_->client_address()).ok()) << "never fences itself";
}

TEST_F(RbdTest, ConnectFailsCleanlyOnAMissingPool) {
  auto config = *config_;
  config.pool = "no-such-pool";
  auto c = RbdCluster::connect(config);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("no-such-pool"), std::string::npos) << c.error().message;
}

TEST_F(RbdTest, BlankImageReadsZerosThenWhatWasWritten) {
  const std::string name = unique("blank");
  ASSERT_TRUE(rbd_create_image(*cluster_, name, 8 << 20).ok());
  {
    auto store = RbdStore::open(cluster_, name);
    ASSERT_TRUE(store.ok()) << store.error().message;
    RbdStore& s = *store.value();
    EXPECT_EQ(s.block_count(), (8u << 20) / kBlockSize);
    EXPECT_TRUE(s.holds_lock());
    std::vector<uint8_t> buf(4096, 0xee);
    ASSERT_EQ(s.read(100, buf), IoStatus::ok);
    EXPECT_EQ(buf, std::vector<uint8_t>(4096, 0));
    std::vector<uint8_t> data(4096);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 13);
    ASSERT_EQ(s.write(100, data), IoStatus::ok);
    ASSERT_EQ(s.flush(), IoStatus::ok);
    ASSERT_EQ(s.read(100, buf), IoStatus::ok);
    EXPECT_EQ(buf, data);
    // Unmap part of it (not object aligned): those blocks read zeros, the rest stays.
    ASSERT_EQ(s.unmap(101, 2), IoStatus::ok);
    ASSERT_EQ(s.read(100, buf), IoStatus::ok);
    EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 512, data.begin()));
    EXPECT_EQ(std::vector<uint8_t>(buf.begin() + 512, buf.begin() + 1536), std::vector<uint8_t>(1024, 0));
    EXPECT_TRUE(std::equal(buf.begin() + 1536, buf.end(), data.begin() + 1536));
    EXPECT_EQ(s.read(s.block_count() - 1, buf), IoStatus::out_of_range);
    EXPECT_EQ(s.write(s.block_count(), std::span<const uint8_t>(data.data(), 512)), IoStatus::out_of_range);
  }
  // Closed: the data is in the cluster, a new open sees it.
  {
    auto store = RbdStore::open(cluster_, name);
    ASSERT_TRUE(store.ok()) << store.error().message;
    std::vector<uint8_t> buf(512);
    ASSERT_EQ(store.value()->read(100, buf), IoStatus::ok);
    EXPECT_EQ(buf[1], 13);
  }
  EXPECT_TRUE(rbd_remove_image(*cluster_, name).ok());
  EXPECT_FALSE(rbd_image_exists(*cluster_, name).value());
  EXPECT_TRUE(rbd_remove_image(*cluster_, name).ok()) << "a missing image is not an error";
}

// What a callback thread reports, waited for by the test's thread.
class Completions {
 public:
  IoDone slot() {
    ++started_;
    return [this](IoStatus st) {
      std::lock_guard lock(mu_);
      results_.push_back(st);
      cv_.notify_all();
    };
  }
  // Every status, once all started verbs have reported (bounded wait).
  std::vector<IoStatus> wait_all() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [this] { return results_.size() == started_; });
    return results_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<IoStatus> results_;
  size_t started_ = 0;
};

TEST_F(RbdTest, AsynchronousVerbsRunConcurrentlyAndReportOnTheirOwn) {
  const std::string name = unique("aio");
  ASSERT_TRUE(rbd_create_image(*cluster_, name, 8 << 20).ok());
  {
    auto store = RbdStore::open(cluster_, name);
    ASSERT_TRUE(store.ok()) << store.error().message;
    RbdStore& s = *store.value();
    ASSERT_TRUE(s.async_io());
    constexpr size_t kVerbs = 32;
    std::vector<std::vector<uint8_t>> data(kVerbs, std::vector<uint8_t>(4096));
    Completions writes;
    for (size_t i = 0; i < kVerbs; ++i) {
      for (size_t b = 0; b < data[i].size(); ++b) data[i][b] = static_cast<uint8_t>(i * 31 + b);
      // The last one with FUA: reported once flushed.
      s.write_async(i * 64, data[i], i == kVerbs - 1, writes.slot());
    }
    auto results = writes.wait_all();
    ASSERT_EQ(results.size(), kVerbs) << "not every write reported in 30 s";
    for (IoStatus st : results) EXPECT_EQ(st, IoStatus::ok);

    std::vector<std::vector<uint8_t>> back(kVerbs, std::vector<uint8_t>(4096, 0xee));
    Completions reads;
    for (size_t i = 0; i < kVerbs; ++i) s.read_async(i * 64, back[i], reads.slot());
    results = reads.wait_all();
    ASSERT_EQ(results.size(), kVerbs);
    for (IoStatus st : results) EXPECT_EQ(st, IoStatus::ok);
    EXPECT_EQ(back, data);

    // Out of range is refused before reaching the cluster, on the caller's thread.
    Completions refused;
    s.read_async(s.block_count() - 1, back[0], refused.slot());
    s.write_async(s.block_count(), std::span<const uint8_t>(data[0].data(), 512), false, refused.slot());
    results = refused.wait_all();
    EXPECT_EQ(results, (std::vector<IoStatus>{IoStatus::out_of_range, IoStatus::out_of_range}));
  }
  // The FUA write and the ones before it are in the cluster.
  {
    auto again = RbdStore::open(cluster_, name);
    ASSERT_TRUE(again.ok()) << again.error().message;
    std::vector<uint8_t> buf(512);
    ASSERT_EQ(again.value()->read(31 * 64, buf), IoStatus::ok);
    EXPECT_EQ(buf[1], static_cast<uint8_t>(31 * 31 + 1));
  }
  EXPECT_TRUE(rbd_remove_image(*cluster_, name).ok());
}

TEST_F(RbdTest, BaseIsImportedOnceWhenClientsRaceAndClonesSeeIt) {
  const std::string base = unique("base");
  const PatternImage source(12ull << 20);  // three 4 MiB objects
  auto other = second_client();
  ASSERT_TRUE(other);
  std::atomic<int> ok{0};
  std::vector<std::thread> racers;
  for (RbdCluster* c : {cluster_.get(), other.get(), cluster_.get()}) {
    racers.emplace_back([&, c] {
      if (rbd_ensure_base(*c, base, source).ok()) ++ok;
    });
  }
  for (auto& t : racers) t.join();
  EXPECT_EQ(ok.load(), 3);
  // No staging copies are left behind, and exactly one base exists.
  std::vector<rbd_image_spec_t> images(1024);
  size_t count = images.size();
  ASSERT_GE(rbd_list2(cluster_->ioctx(), images.data(), &count), 0);
  int bases = 0, staging = 0;
  for (size_t i = 0; i < count; ++i) {
    std::string n(images[i].name);
    if (n == base) ++bases;
    if (n.rfind(base + ".importing.", 0) == 0) ++staging;
  }
  rbd_image_spec_list_cleanup(images.data(), count);
  EXPECT_EQ(bases, 1);
  EXPECT_EQ(staging, 0);
  EXPECT_EQ(rbd_image_size(*cluster_, base).value(), 12ull << 20);

  const std::string child = unique("clone");
  ASSERT_TRUE(rbd_clone_base(*cluster_, base, child).ok());
  {
    auto store = RbdStore::open(cluster_, child);
    ASSERT_TRUE(store.ok()) << store.error().message;
    std::vector<uint8_t> buf(kBlockSize);
    ASSERT_EQ(store.value()->read(0, buf), IoStatus::ok);
    for (size_t i = 0; i < buf.size(); ++i) ASSERT_EQ(buf[i], source.byte_at(i)) << i;
    const uint64_t last = store.value()->block_count() - 1;
    ASSERT_EQ(store.value()->read(last, buf), IoStatus::ok);
    for (size_t i = 0; i < buf.size(); ++i) ASSERT_EQ(buf[i], source.byte_at(last * kBlockSize + i)) << i;
    // A write to the clone leaves the base as it was.
    std::vector<uint8_t> w(kBlockSize, 0x5a);
    ASSERT_EQ(store.value()->write(0, w), IoStatus::ok);
  }
  // Importing again is a no-op on an existing base.
  EXPECT_TRUE(rbd_ensure_base(*other, base, PatternImage(4 << 20)).ok());
  EXPECT_EQ(rbd_image_size(*cluster_, base).value(), 12ull << 20);
  EXPECT_TRUE(rbd_remove_image(*cluster_, child).ok());
  EXPECT_FALSE(rbd_ensure_base(*cluster_, "bad/name", source).ok());
}

TEST_F(RbdTest, ASecondClientCannotWriteWhileTheLockIsHeld) {
  const std::string name = unique("lock");
  ASSERT_TRUE(rbd_create_image(*cluster_, name, 4 << 20).ok());
  auto holder = RbdStore::open(cluster_, name);
  ASSERT_TRUE(holder.ok()) << holder.error().message;
  auto other = second_client();
  ASSERT_TRUE(other);

  // Another RbdStore is refused the lock.
  auto contender = RbdStore::open(other, name);
  EXPECT_FALSE(contender.ok());
  // A plain librbd client writing without asking for the lock is refused too.
  rbd_image_t raw = nullptr;
  ASSERT_EQ(rbd_open(other->ioctx(), name.c_str(), &raw, nullptr), 0);
  const char data[512] = {1};
  EXPECT_LT(rbd_write(raw, 0, sizeof data, data), 0);
  rbd_close(raw);
  std::vector<uint8_t> buf(512);
  ASSERT_EQ(holder.value()->read(0, buf), IoStatus::ok);
  EXPECT_EQ(buf[0], 0) << "the refused write did not land";
  EXPECT_TRUE(holder.value()->holds_lock());
}

TEST_F(RbdTest, TakeOverBlocklistsTheOldOwner) {
  const std::string name = unique("takeover");
  ASSERT_TRUE(rbd_create_image(*cluster_, name, 4 << 20).ok());
  auto stale_client = second_client();
  ASSERT_TRUE(stale_client);
  auto stale = RbdStore::open(stale_client, name);
  ASSERT_TRUE(stale.ok()) << stale.error().message;

  auto taker = RbdStore::open(cluster_, name, RbdOpenOptions{.take_over = true});
  ASSERT_TRUE(taker.ok()) << taker.error().message;
  EXPECT_TRUE(taker.value()->holds_lock());
  std::vector<uint8_t> mine(512, 0x11), theirs(512, 0x22);
  ASSERT_EQ(taker.value()->write(0, mine), IoStatus::ok);
  // The old owner is fenced: its write fails and never lands.
  EXPECT_NE(stale.value()->write(0, theirs), IoStatus::ok);
  std::vector<uint8_t> buf(512);
  ASSERT_EQ(taker.value()->read(0, buf), IoStatus::ok);
  EXPECT_EQ(buf, mine);
  stale.value().reset();
  taker.value().reset();
  EXPECT_TRUE(rbd_remove_image(*cluster_, name).ok());
}

TEST_F(RbdTest, BlocklistFencesAClientByAddress) {
  const std::string name = unique("fence");
  ASSERT_TRUE(rbd_create_image(*cluster_, name, 4 << 20).ok());
  auto victim_client = second_client();
  ASSERT_TRUE(victim_client);
  auto victim = RbdStore::open(victim_client, name);
  ASSERT_TRUE(victim.ok()) << victim.error().message;
  std::vector<uint8_t> data(512, 0x33);
  ASSERT_EQ(victim.value()->write(0, data), IoStatus::ok);
  ASSERT_TRUE(cluster_->blocklist(victim_client->client_address(), 600).ok());
  EXPECT_NE(victim.value()->write(0, data), IoStatus::ok);
  victim.value().reset();
  // The image is usable by the fencing client.
  auto store = RbdStore::open(cluster_, name, RbdOpenOptions{.take_over = true});
  ASSERT_TRUE(store.ok()) << store.error().message;
  std::vector<uint8_t> buf(512);
  ASSERT_EQ(store.value()->read(0, buf), IoStatus::ok);
  EXPECT_EQ(buf, data);
}

}  // namespace
}  // namespace scsipub::storage
