#include "storage/fenced_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "storage/memory_store.h"

namespace scsipub::storage {
namespace {

using namespace std::chrono_literals;

struct Fixture {
  std::shared_ptr<MemoryStore> inner = std::make_shared<MemoryStore>(8);
  std::shared_ptr<LeaseDeadline> lease = std::make_shared<LeaseDeadline>();
  FencedStore store{inner, lease};
  std::vector<uint8_t> data = std::vector<uint8_t>(512, 0x5a);
  std::vector<uint8_t> out = std::vector<uint8_t>(512);

  // Every verb that touches the data, all with the same answer expected.
  void expect_all(IoStatus want) {
    EXPECT_EQ(store.write(1, data), want);
    EXPECT_EQ(store.read(1, out), want);
    EXPECT_EQ(store.unmap(2, 1), want);
    EXPECT_EQ(store.flush(), want);
  }
};

TEST(FencedStore, ServesNothingBeforeTheLeaseIsHeld) {
  Fixture f;
  f.expect_all(IoStatus::unavailable);
  EXPECT_FALSE(f.store.read_now(1, f.out));
  EXPECT_EQ(f.inner->lba_status(1).mapped, false) << "the refused write never reached the disk";
}

TEST(FencedStore, ServesWhileHeldAndStopsWhenRevoked) {
  Fixture f;
  f.lease->extend_to(LeaseDeadline::Clock::now() + 1h);
  f.expect_all(IoStatus::ok);
  EXPECT_TRUE(f.store.read_now(1, f.out));
  EXPECT_EQ(f.out, f.data);

  f.lease->revoke();
  std::vector<uint8_t> other(512, 0x11);
  EXPECT_EQ(f.store.write(1, other), IoStatus::unavailable);
  f.expect_all(IoStatus::unavailable);
  EXPECT_FALSE(f.store.read_now(1, f.out));
  std::vector<uint8_t> check(512);
  ASSERT_EQ(f.inner->read(1, check), IoStatus::ok);
  EXPECT_EQ(check, f.data) << "nothing written after the revoke";

  f.lease->extend_to(LeaseDeadline::Clock::now() + 1h);
  f.expect_all(IoStatus::ok);
}

TEST(FencedStore, StopsAtTheDeadlineWithoutAnyoneRevoking) {
  Fixture f;
  f.lease->extend_to(LeaseDeadline::Clock::now() + 50ms);
  EXPECT_EQ(f.store.write(1, f.data), IoStatus::ok);
  std::this_thread::sleep_for(80ms);
  f.expect_all(IoStatus::unavailable);
}

TEST(LeaseDeadline, ValidStrictlyBeforeTheDeadline) {
  LeaseDeadline d;
  const auto t = LeaseDeadline::Clock::now();
  EXPECT_FALSE(d.valid_at(t));
  d.extend_to(t + 10ms);
  EXPECT_TRUE(d.valid_at(t));
  EXPECT_TRUE(d.valid_at(t + 9ms));
  EXPECT_FALSE(d.valid_at(t + 10ms));
  d.revoke();
  EXPECT_FALSE(d.valid_at(t));
}

}  // namespace
}  // namespace scsipub::storage
