#include "control/lease_keeper.h"

#include <gtest/gtest.h>

#include <chrono>

namespace scsipub::control {
namespace {

using namespace std::chrono_literals;
using Held = LeaseKeeper::Held;
using Renewal = LeaseKeeper::Renewal;

// lease 1000, renew every 200, margin 200: a grant sent at t is served until
// t + 800 and renewed from t + 200 on.
constexpr LeaseTiming kTiming{1000ms, 200ms, 200ms};
const LeaseKeeper::SteadyTime t0{std::chrono::hours(1)};

TEST(LeaseTiming, NeedsRoomForTwoRenewalsBeforeTheDeadline) {
  EXPECT_TRUE(validate(kTiming).ok());
  EXPECT_TRUE(validate(LeaseTiming{10000ms, 1000ms, 1000ms}).ok()) << "the defaults";
  EXPECT_FALSE(validate(LeaseTiming{600ms, 200ms, 200ms}).ok()) << "margin + 2 renewals == lease";
  EXPECT_FALSE(validate(LeaseTiming{0ms, 200ms, 0ms}).ok());
  EXPECT_FALSE(validate(LeaseTiming{1000ms, 0ms, 0ms}).ok());
  EXPECT_FALSE(validate(LeaseTiming{1000ms, 100ms, -1ms}).ok());
}

TEST(LeaseKeeper, DeadlineCountsFromWhenTheGrantWasSent) {
  LeaseKeeper k(kTiming);
  EXPECT_EQ(k.granted("d1", 3, t0), t0 + 800ms);
  EXPECT_TRUE(k.holds("d1", t0 + 799ms));
  EXPECT_FALSE(k.holds("d1", t0 + 800ms));
  EXPECT_FALSE(k.holds("d2", t0));
  EXPECT_EQ(k.held(), (std::vector<Held>{Held{"d1", 3, t0, t0 + 800ms}}));
}

TEST(LeaseKeeper, RenewalsFallDueOneIntervalAfterTheLastSend) {
  LeaseKeeper k(kTiming);
  k.granted("a", 1, t0);
  k.granted("b", 7, t0 + 50ms);
  EXPECT_TRUE(k.due(t0 + 199ms).empty());
  EXPECT_EQ(k.due(t0 + 200ms), (std::vector<Renewal>{{"a", 1}}));
  EXPECT_EQ(k.due(t0 + 250ms), (std::vector<Renewal>{{"a", 1}, {"b", 7}}));

  // Renewal of "a" sent at +210: the deadline moves to +1010, next due at +410.
  EXPECT_EQ(k.renewed("a", 1, t0 + 210ms), t0 + 1010ms);
  EXPECT_EQ(k.due(t0 + 300ms), (std::vector<Renewal>{{"b", 7}}));
  EXPECT_EQ(k.due(t0 + 410ms), (std::vector<Renewal>{{"a", 1}, {"b", 7}}));
}

TEST(LeaseKeeper, AnOlderRenewalNeverMovesTheDeadlineBack) {
  LeaseKeeper k(kTiming);
  k.granted("a", 1, t0 + 100ms);
  EXPECT_EQ(k.renewed("a", 1, t0), t0 + 900ms);
}

TEST(LeaseKeeper, UnansweredRenewalsLoseTheLeaseAtTheDeadline) {
  LeaseKeeper k(kTiming);
  k.granted("a", 1, t0);
  k.granted("b", 2, t0 + 300ms);
  // Nothing renewed (database unreachable): "a" runs out at +800.
  EXPECT_TRUE(k.take_lost(t0 + 799ms).empty());
  EXPECT_EQ(k.take_lost(t0 + 800ms), (std::vector<Held>{Held{"a", 1, t0, t0 + 800ms}}));
  EXPECT_TRUE(k.take_lost(t0 + 800ms).empty()) << "reported once";
  EXPECT_FALSE(k.find("a").has_value());
  EXPECT_TRUE(k.holds("b", t0 + 800ms));
  EXPECT_EQ(k.due(t0 + 800ms), (std::vector<Renewal>{{"b", 2}})) << "a lost lease is not renewed";
}

TEST(LeaseKeeper, ALeasePastItsDeadlineIsNotDueForRenewal) {
  LeaseKeeper k(kTiming);
  k.granted("a", 1, t0);
  EXPECT_TRUE(k.due(t0 + 800ms).empty());
}

TEST(LeaseKeeper, ARefusedRenewalLosesTheLeaseAtOnce) {
  LeaseKeeper k(kTiming);
  k.granted("a", 4, t0);
  k.refused("a", 3);  // another epoch: not ours
  EXPECT_TRUE(k.holds("a", t0 + 1ms));
  k.refused("a", 4);
  EXPECT_FALSE(k.holds("a", t0 + 1ms));
  EXPECT_TRUE(k.due(t0 + 300ms).empty());
  EXPECT_EQ(k.take_lost(t0 + 1ms), (std::vector<Held>{Held{"a", 4, t0, t0 + 800ms}}));
}

TEST(LeaseKeeper, ARenewalAnsweredAfterTheLossIsGivenBack) {
  LeaseKeeper k(kTiming);
  k.granted("a", 1, t0);
  ASSERT_EQ(k.take_lost(t0 + 800ms).size(), 1u);
  EXPECT_FALSE(k.renewed("a", 1, t0 + 700ms).has_value());
  k.granted("a", 2, t0 + 900ms);
  EXPECT_FALSE(k.renewed("a", 1, t0 + 950ms).has_value()) << "a stale epoch does not extend the new one";
  EXPECT_EQ(k.find("a")->deadline, t0 + 1700ms);
}

TEST(LeaseKeeper, ReleaseForgetsTheLease) {
  LeaseKeeper k(kTiming);
  k.granted("a", 1, t0);
  auto h = k.release("a");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->epoch, 1);
  EXPECT_FALSE(k.release("a").has_value());
  EXPECT_TRUE(k.take_lost(t0 + 2000ms).empty()) << "a released lease is not reported lost";
}

}  // namespace
}  // namespace scsipub::control
