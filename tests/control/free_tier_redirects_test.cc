// FreeTierRedirects: where redirected free-tier initiators were sent, under
// the same key a kept disk is, for a bounded time and number of entries.
#include "control/free_tier_redirects.h"

#include <gtest/gtest.h>

namespace scsipub::control {
namespace {

using namespace std::chrono_literals;

ReinstateKey key(uint8_t isid, std::string peer = "192.0.2.1", std::string initiator = "iqn.2025-01.test:node") {
  return ReinstateKey{std::move(initiator), {0x80, 0, 0, 0, 0, isid}, "iqn.2025-01.pub.scsipub:blank",
                      std::move(peer)};
}

const Clock::SteadyTime t0{};

TEST(FreeTierRedirectsTest, SendsOnlyTheSameNexusFromTheSameAddressBack) {
  FreeTierRedirects r({16, 60s});
  EXPECT_EQ(r.remember(key(1), "node-b", t0), 0u);
  EXPECT_EQ(r.node_for(key(1), t0 + 1s), "node-b");
  EXPECT_FALSE(r.node_for(key(2), t0 + 1s)) << "another ISID";
  EXPECT_FALSE(r.node_for(key(1, "192.0.2.2"), t0 + 1s)) << "another address";
  EXPECT_FALSE(r.node_for(key(1, "192.0.2.1", "iqn.2025-01.test:other"), t0 + 1s)) << "another initiator";
  ReinstateKey other_target = key(1);
  other_target.target_name = "iqn.2025-01.pub.scsipub:multi";
  EXPECT_FALSE(r.node_for(other_target, t0 + 1s)) << "another target";
}

TEST(FreeTierRedirectsTest, ForgetsAtTheEndOfThePeriodCountedFromTheLastRedirect) {
  FreeTierRedirects r({16, 60s});
  r.remember(key(1), "node-b", t0);
  r.remember(key(2), "node-c", t0 + 30s);
  EXPECT_EQ(r.node_for(key(1), t0 + 59s), "node-b");
  EXPECT_FALSE(r.node_for(key(1), t0 + 60s));
  EXPECT_EQ(r.size(), 1u) << "the expired entry is dropped, not only hidden";
  // A second redirect restarts the period and may name another node.
  r.remember(key(2), "node-d", t0 + 80s);
  EXPECT_EQ(r.node_for(key(2), t0 + 139s), "node-d");
  EXPECT_FALSE(r.node_for(key(2), t0 + 140s));
  EXPECT_EQ(r.size(), 0u);
}

TEST(FreeTierRedirectsTest, TheCapEvictsTheOldestRedirectAndSaysSo) {
  FreeTierRedirects r({3, 1h});
  EXPECT_EQ(r.remember(key(1), "a", t0), 0u);
  EXPECT_EQ(r.remember(key(2), "b", t0 + 1s), 0u);
  EXPECT_EQ(r.remember(key(3), "c", t0 + 2s), 0u);
  // Re-redirecting key 1 makes it the newest: key 2 is now the oldest.
  EXPECT_EQ(r.remember(key(1), "a", t0 + 3s), 0u);
  EXPECT_EQ(r.remember(key(4), "d", t0 + 4s), 1u);
  EXPECT_EQ(r.size(), 3u);
  EXPECT_FALSE(r.node_for(key(2), t0 + 5s));
  EXPECT_EQ(r.node_for(key(1), t0 + 5s), "a");
  EXPECT_EQ(r.node_for(key(3), t0 + 5s), "c");
  EXPECT_EQ(r.node_for(key(4), t0 + 5s), "d");
}

TEST(FreeTierRedirectsTest, ManyInitiatorsNeverHoldMoreThanTheCap) {
  FreeTierRedirects r({100, 1h});
  size_t evicted = 0;
  for (int i = 0; i < 1000; ++i) {
    evicted += r.remember(key(uint8_t(i), "198.51.100." + std::to_string(i)), "n", t0 + std::chrono::seconds(i));
    ASSERT_LE(r.size(), 100u);
  }
  EXPECT_EQ(evicted, 900u);
  EXPECT_EQ(r.node_for(key(uint8_t(999), "198.51.100.999"), t0 + 1000s), "n");
  EXPECT_FALSE(r.node_for(key(uint8_t(0), "198.51.100.0"), t0 + 1000s));
}

TEST(FreeTierRedirectsTest, ForgetDropsOneEntryAndZeroEntriesRemembersNothing) {
  FreeTierRedirects r({4, 1h});
  r.remember(key(1), "a", t0);
  r.remember(key(2), "b", t0);
  r.forget(key(1));
  r.forget(key(9));  // unknown: nothing happens
  EXPECT_FALSE(r.node_for(key(1), t0));
  EXPECT_EQ(r.node_for(key(2), t0), "b");
  EXPECT_EQ(r.size(), 1u);

  FreeTierRedirects none({0, 1h});
  EXPECT_EQ(none.remember(key(1), "a", t0), 0u);
  EXPECT_FALSE(none.node_for(key(1), t0));
  EXPECT_EQ(none.size(), 0u);
}

}  // namespace
}  // namespace scsipub::control
