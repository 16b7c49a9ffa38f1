// The CHAP throttle as pure values with an injected clock.
#include "iscsi/chap_throttle.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace scsipub::iscsi {
namespace {

using namespace std::chrono_literals;
using Tp = std::chrono::steady_clock::time_point;
using Verdict = ChapThrottle::Verdict;

class AttemptWindowTest : public ::testing::Test {
 protected:
  AttemptWindow make(uint32_t n = 3, size_t entries = 16) {
    return AttemptWindow({n, std::chrono::minutes(1), entries}, [this] { return now_; });
  }
  void advance(std::chrono::steady_clock::duration d) { now_ += d; }
  Tp now_ = Tp{} + std::chrono::hours(1);
};

TEST_F(AttemptWindowTest, LocksAfterNAttemptsForTheRestOfTheWindow) {
  auto t = make(3);
  EXPECT_TRUE(t.allowed("10.0.0.1"));
  EXPECT_TRUE(t.charge("10.0.0.1"));
  advance(10s);
  EXPECT_TRUE(t.charge("10.0.0.1"));
  EXPECT_TRUE(t.allowed("10.0.0.1"));
  EXPECT_EQ(t.count("10.0.0.1"), 2u);
  advance(10s);
  EXPECT_TRUE(t.charge("10.0.0.1"));
  EXPECT_FALSE(t.allowed("10.0.0.1"));
  EXPECT_FALSE(t.charge("10.0.0.1"));  // a locked key is not charged further
  EXPECT_EQ(t.count("10.0.0.1"), 3u);
  EXPECT_TRUE(t.allowed("10.0.0.2"));  // other keys unaffected
  advance(39s);                        // 59 s after the first attempt
  EXPECT_FALSE(t.allowed("10.0.0.1"));
  advance(1s);  // the minute is over
  EXPECT_TRUE(t.allowed("10.0.0.1"));
  EXPECT_EQ(t.count("10.0.0.1"), 0u);
  EXPECT_TRUE(t.charge("10.0.0.1"));  // a fresh window
  EXPECT_EQ(t.count("10.0.0.1"), 1u);
}

TEST_F(AttemptWindowTest, RefundGivesBackOneAttemptOfTheSameWindowOnly) {
  auto t = make(2);
  auto a = t.charge("k");
  auto b = t.charge("k");
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(t.allowed("k"));
  t.refund(*a);
  EXPECT_TRUE(t.allowed("k"));
  EXPECT_EQ(t.count("k"), 1u);
  t.refund(*b);
  EXPECT_EQ(t.size(), 0u);  // an entry refunded to zero is forgotten
  t.refund(*b);             // refunding twice takes nothing below zero
  EXPECT_EQ(t.count("k"), 0u);

  auto old = t.charge("k");
  advance(61s);
  auto fresh = t.charge("k");
  ASSERT_TRUE(old && fresh);
  t.refund(*old);  // from an earlier window: the new one keeps its count
  EXPECT_EQ(t.count("k"), 1u);
}

TEST_F(AttemptWindowTest, AttemptsSpreadOverWindowsDoNotLock) {
  auto t = make(3);
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(t.charge("fe80::/64"));
    EXPECT_TRUE(t.charge("fe80::/64"));
    EXPECT_TRUE(t.allowed("fe80::/64"));
    advance(61s);
  }
}

TEST_F(AttemptWindowTest, TableIsBoundedAndFloodsDoNotUnlock) {
  auto t = make(2, 4);
  t.charge("locked");
  t.charge("locked");
  EXPECT_FALSE(t.allowed("locked"));
  for (int i = 0; i < 100; ++i) {
    advance(10ms);
    t.charge("10.1.0." + std::to_string(i));
    EXPECT_LE(t.size(), 4u);
  }
  // Flooding with one-attempt keys evicted those, not the locked one.
  EXPECT_FALSE(t.allowed("locked"));
  // Expired entries are dropped first.
  advance(2min);
  t.charge("new");
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(t.allowed("locked"));
}

TEST_F(AttemptWindowTest, AllLockedEvictsTheOldest) {
  auto t = make(1, 2);
  t.charge("a");
  advance(1s);
  t.charge("b");
  advance(1s);
  t.charge("c");
  EXPECT_EQ(t.size(), 2u);
  EXPECT_TRUE(t.allowed("a"));
  EXPECT_FALSE(t.allowed("b"));
  EXPECT_FALSE(t.allowed("c"));
}

class ChapThrottleTest : public ::testing::Test {
 protected:
  ChapThrottle make(uint32_t per_user = 5, uint32_t per_group = 60, size_t entries = 4096) {
    return ChapThrottle({per_user, per_group, std::chrono::minutes(1), entries}, [this] { return now_; });
  }
  void advance(std::chrono::steady_clock::duration d) { now_ += d; }
  Tp now_ = Tp{} + std::chrono::hours(1);
};

TEST_F(ChapThrottleTest, AGuesserBehindANatLocksOnlyItsOwnUser) {
  auto t = make(5, 60);
  const std::string nat = "198.51.100.7";
  for (int i = 0; i < 5; ++i) {
    ChapThrottle::Attempt guess;  // wrong secret: never refunded
    EXPECT_EQ(t.challenge(guess, nat, "victim"), Verdict::allowed);
  }
  ChapThrottle::Attempt more;
  EXPECT_EQ(t.challenge(more, nat, "victim"), Verdict::user_locked);
  EXPECT_FALSE(more.group_charge);  // a refusal charges nothing
  // The honest user behind the same address is not locked out.
  ChapThrottle::Attempt honest;
  EXPECT_EQ(t.challenge(honest, nat, "payer"), Verdict::allowed);
  t.succeeded(honest);
  EXPECT_EQ(t.user_attempts(nat, "payer"), 0u);
  // Hammering the locked user costs the group nothing.
  for (int i = 0; i < 1000; ++i) {
    ChapThrottle::Attempt a;
    EXPECT_EQ(t.challenge(a, nat, "victim"), Verdict::user_locked);
  }
  EXPECT_EQ(t.group_attempts(nat), 5u);
  EXPECT_EQ(t.check(nat, "payer"), Verdict::allowed);
  // Another address may still try "victim": pairs are per address group.
  EXPECT_EQ(t.check("203.0.113.9", "victim"), Verdict::allowed);
  advance(60s);
  EXPECT_EQ(t.check(nat, "victim"), Verdict::allowed);
}

TEST_F(ChapThrottleTest, TheGroupCeilingStopsAGuesserWhoRotatesUsers) {
  auto t = make(5, 60);
  const std::string group = "2001:db8:1:2::/64";
  int allowed = 0;
  for (int i = 0; i < 100; ++i) {
    ChapThrottle::Attempt a;
    if (t.challenge(a, group, "user" + std::to_string(i)) == Verdict::allowed) ++allowed;
  }
  EXPECT_EQ(allowed, 60);
  EXPECT_EQ(t.check(group, "anyone"), Verdict::group_locked);
  EXPECT_EQ(t.check("2001:db8:1:3::/64", "anyone"), Verdict::allowed);
}

TEST_F(ChapThrottleTest, ParallelExchangesCountWhenTheChallengeIsSent) {
  auto t = make(5, 60);
  // 64 exchanges to one disk open at once, none answered yet.
  std::vector<ChapThrottle::Attempt> open(64);
  int challenged = 0;
  for (auto& a : open) {
    if (t.challenge(a, "192.0.2.1", "disk-user") == Verdict::allowed) ++challenged;
  }
  EXPECT_EQ(challenged, 5);  // only 5 responses can ever be verified
  EXPECT_EQ(t.group_attempts("192.0.2.1"), 5u);
}

TEST_F(ChapThrottleTest, DiscoveryChargesThePairWhenChapNArrives) {
  auto t = make(5, 60);
  std::vector<ChapThrottle::Attempt> open(64);
  int challenged = 0;
  for (auto& a : open) {
    // Discovery: no user known when the challenge goes out.
    if (t.challenge(a, "192.0.2.1", "") == Verdict::allowed) ++challenged;
  }
  EXPECT_EQ(challenged, 60);  // the group ceiling
  int verified = 0;
  for (auto& a : open) {
    if (!a.group_charge) continue;
    if (t.name_user(a, "guessed") == Verdict::allowed) ++verified;
  }
  EXPECT_EQ(verified, 5);
  // The 55 refused at CHAP_N gave their group charge back: nothing was verified.
  EXPECT_EQ(t.group_attempts("192.0.2.1"), 5u);
  EXPECT_EQ(t.user_attempts("192.0.2.1", "guessed"), 5u);
}

TEST_F(ChapThrottleTest, SuccessIsRefundedFailureAndAbandonAreNot) {
  auto t = make(2, 60);
  for (int i = 0; i < 10; ++i) {  // an honest user logs in often
    ChapThrottle::Attempt a;
    ASSERT_EQ(t.challenge(a, "192.0.2.1", "u"), Verdict::allowed);
    t.succeeded(a);
  }
  EXPECT_EQ(t.user_attempts("192.0.2.1", "u"), 0u);
  EXPECT_EQ(t.group_attempts("192.0.2.1"), 0u);
  {
    ChapThrottle::Attempt abandoned;  // challenge sent, never answered
    ASSERT_EQ(t.challenge(abandoned, "192.0.2.1", "u"), Verdict::allowed);
  }
  ChapThrottle::Attempt discovery;
  ASSERT_EQ(t.challenge(discovery, "192.0.2.1", ""), Verdict::allowed);
  ASSERT_EQ(t.name_user(discovery, "u"), Verdict::allowed);  // then a wrong response
  EXPECT_EQ(t.user_attempts("192.0.2.1", "u"), 2u);
  EXPECT_EQ(t.check("192.0.2.1", "u"), Verdict::user_locked);
  // Even the right secret is refused now, before it is checked.
  ChapThrottle::Attempt right;
  EXPECT_EQ(t.challenge(right, "192.0.2.1", "u"), Verdict::user_locked);
}

TEST_F(ChapThrottleTest, TablesStayBoundedUnderAFloodOfNames) {
  auto t = make(5, 1000000, 64);
  for (int i = 0; i < 10000; ++i) {
    ChapThrottle::Attempt a;
    t.challenge(a, "192.0.2.1", "");
    t.name_user(a, "name" + std::to_string(i));
    EXPECT_LE(t.size(), 128u);
  }
}

}  // namespace
}  // namespace scsipub::iscsi
