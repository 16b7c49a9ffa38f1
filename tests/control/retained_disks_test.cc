// RetainedDisks: kept under the nexus + address key until a deadline, handed
// over at most once, expired in deadline order.
#include "control/retained_disks.h"

#include <gtest/gtest.h>

namespace scsipub::control {
namespace {

using namespace std::chrono_literals;

ReinstateKey key(uint8_t isid, std::string peer = "192.0.2.1") {
  return ReinstateKey{"iqn.2025-01.test:node", {0x80, 0, 0, 0, 0, isid}, "iqn.2025-01.pub.scsipub:blank",
                      std::move(peer)};
}

SessionDisks disks(std::string id) {
  SessionDisks d;
  d.id = std::move(id);
  d.group = "192.0.2.1";
  d.reserved = 1;
  return d;
}

const Clock::SteadyTime t0{};

TEST(RetainedDisksTest, TakeHandsOverOnceAndOnlyToTheSameKey) {
  RetainedDisks r;
  EXPECT_FALSE(r.put(key(1), disks("a"), t0 + 20s));
  EXPECT_FALSE(r.take(key(2)));
  EXPECT_FALSE(r.take(key(1, "192.0.2.2")));
  auto got = r.take(key(1));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, "a");
  EXPECT_FALSE(r.take(key(1)));
  EXPECT_EQ(r.size(), 0u);
  EXPECT_TRUE(r.take_expired(t0 + 1h).empty());  // its deadline went with it
}

TEST(RetainedDisksTest, ExpiresInDeadlineOrderAtTheDeadline) {
  RetainedDisks r;
  r.put(key(1), disks("late"), t0 + 30s);
  r.put(key(2), disks("early"), t0 + 10s);
  r.put(key(3), disks("middle"), t0 + 20s);
  EXPECT_TRUE(r.take_expired(t0 + 9s).empty());
  auto first = r.take_expired(t0 + 20s);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].id, "early");
  EXPECT_EQ(first[1].id, "middle");
  EXPECT_EQ(r.size(), 1u);
  auto rest = r.take_all();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id, "late");
  EXPECT_TRUE(r.take_expired(t0 + 1h).empty());
}

TEST(RetainedDisksTest, APutUnderAKeptKeyReturnsTheOlderDisks) {
  RetainedDisks r;
  r.put(key(1), disks("old"), t0 + 10s);
  auto displaced = r.put(key(1), disks("new"), t0 + 30s);
  ASSERT_TRUE(displaced);
  EXPECT_EQ(displaced->id, "old");
  EXPECT_TRUE(r.take_expired(t0 + 20s).empty());  // the old deadline went with the old disks
  EXPECT_EQ(r.take(key(1))->id, "new");
}

}  // namespace
}  // namespace scsipub::control
