// LockedStore lets readers of a shared disk run at the same time and runs
// writers alone. The inner store below parks a call until the test lets it go,
// so the test can see which calls overlap.
#include "storage/locked_store.h"
#include "storage/memory_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

namespace scsipub::storage {
namespace {

using namespace std::chrono_literals;

class ParkingStore final : public BlockStore {
 public:
  uint64_t block_count() const override { return 64; }
  bool read_only() const override { return false; }
  bool thin_provisioned() const override { return false; }
  IoStatus read(uint64_t, std::span<uint8_t>) override { return park(); }
  IoStatus write(uint64_t, std::span<const uint8_t>) override { return park(); }
  IoStatus unmap(uint64_t, uint64_t) override { return park(); }
  IoStatus flush() override { return park(); }
  LbaRun lba_status(uint64_t) const override { return {}; }

  // Waits until `n` calls are inside the store at once; false after 5 s.
  bool wait_inside(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return inside_ >= n; });
  }
  void release_all() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  int peak_inside() const {
    std::lock_guard lock(mu_);
    return peak_;
  }

 private:
  IoStatus park() {
    std::unique_lock lock(mu_);
    ++inside_;
    peak_ = std::max(peak_, inside_);
    cv_.notify_all();
    cv_.wait_for(lock, 5s, [&] { return released_; });
    --inside_;
    return IoStatus::ok;
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int inside_ = 0;
  int peak_ = 0;
  bool released_ = false;
};

TEST(LockedStore, ReadsRunInParallel) {
  auto inner = std::make_shared<ParkingStore>();
  LockedStore store(inner);
  std::vector<uint8_t> a(512), b(512);
  auto r1 = std::async(std::launch::async, [&] { return store.read(0, a); });
  auto r2 = std::async(std::launch::async, [&] { return store.read(1, b); });
  // Both reads are inside the inner store at once: neither waits for the other.
  EXPECT_TRUE(inner->wait_inside(2));
  inner->release_all();
  EXPECT_EQ(r1.get(), IoStatus::ok);
  EXPECT_EQ(r2.get(), IoStatus::ok);
  EXPECT_EQ(inner->peak_inside(), 2);
}

TEST(LockedStore, WriterRunsAlone) {
  auto inner = std::make_shared<ParkingStore>();
  LockedStore store(inner);
  std::vector<uint8_t> a(512), b(512);
  auto w = std::async(std::launch::async, [&] { return store.write(0, a); });
  ASSERT_TRUE(inner->wait_inside(1));
  auto r = std::async(std::launch::async, [&] { return store.read(0, b); });
  auto f = std::async(std::launch::async, [&] { return store.flush(); });
  // While the write is inside, neither the read nor the flush gets in.
  EXPECT_EQ(r.wait_for(200ms), std::future_status::timeout);
  EXPECT_EQ(f.wait_for(0ms), std::future_status::timeout);
  inner->release_all();
  EXPECT_EQ(w.get(), IoStatus::ok);
  EXPECT_EQ(r.get(), IoStatus::ok);
  EXPECT_EQ(f.get(), IoStatus::ok);
  EXPECT_EQ(inner->peak_inside(), 1);
}

}  // namespace
}  // namespace scsipub::storage

namespace scsipub::storage {
namespace {

// A backup's pause: writes wait until the copy is done, reads do not.
TEST(LockedStore, WritesPausedReadsGoOn) {
  auto inner = std::make_shared<MemoryStore>(16);
  LockedStore store(inner);
  std::vector<uint8_t> data(512, 0xab), out(512);
  std::future<IoStatus> write;
  store.with_writes_paused([&](IoStatus flushed) {
    EXPECT_EQ(flushed, IoStatus::ok);
    write = std::async(std::launch::async, [&] { return store.write(3, data); });
    EXPECT_EQ(write.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
    EXPECT_EQ(store.read(3, out), IoStatus::ok);  // a shared lock is held: reads pass
    EXPECT_EQ(out, std::vector<uint8_t>(512, 0));
    return 0;
  });
  EXPECT_EQ(write.get(), IoStatus::ok);
  ASSERT_EQ(store.read(3, out), IoStatus::ok);
  EXPECT_EQ(out, data);
}

// A pause waits for the write under way (here: parked inside the store).
TEST(LockedStore, PauseWaitsForWriterUnderWay) {
  auto inner = std::make_shared<ParkingStore>();
  LockedStore store(inner);
  std::vector<uint8_t> data(512, 1);
  auto write = std::async(std::launch::async, [&] { return store.write(0, data); });
  ASSERT_TRUE(inner->wait_inside(1));
  std::atomic<bool> copied{false};
  auto pause = std::async(std::launch::async, [&] {
    store.with_writes_paused([&](IoStatus) {
      copied = true;
      return 0;
    });
  });
  EXPECT_EQ(pause.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  EXPECT_FALSE(copied.load());
  inner->release_all();
  pause.get();
  EXPECT_TRUE(copied.load());
  EXPECT_EQ(write.get(), IoStatus::ok);
}

}  // namespace
}  // namespace scsipub::storage
