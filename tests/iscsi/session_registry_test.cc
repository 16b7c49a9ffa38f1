// SessionRegistry::admit: the session limits of the admission model as pure
// values (docs/SECURITY.md "Admission model").
#include "iscsi/session_registry.h"

#include <gtest/gtest.h>

#include <string>

namespace scsipub::iscsi {
namespace {

NewSession session(const std::string& group, bool authenticated, bool discovery = false, uint8_t isid = 1) {
  NewSession s;
  s.key = SessionKey{"iqn.2025-01.test:ini", {0x80, 0, 0, 0, 0, isid}, discovery ? "" : "iqn.2025-01.test:t"};
  s.peer_address = group;
  s.group = group;
  s.discovery = discovery;
  s.authenticated = authenticated;
  return s;
}

class SessionRegistryTest : public ::testing::Test {
 protected:
  std::optional<Limit> admit(NewSession s) {
    auto a = registry.admit(std::move(s), limits);
    if (a.record.tsih != 0) ids.push_back(a.record.id);
    return a.refused_by;
  }
  SessionRegistry registry;
  SessionLimits limits;
  std::vector<uint64_t> ids;
};

TEST_F(SessionRegistryTest, AnonymousSessionsStopShortOfTheReservedSlots) {
  limits.max_sessions = 4;
  limits.reserved_auth_sessions = 1;
  EXPECT_EQ(admit(session("192.0.2.1", false, false, 1)), std::nullopt);
  EXPECT_EQ(admit(session("192.0.2.2", false, false, 2)), std::nullopt);
  EXPECT_EQ(admit(session("192.0.2.3", false, true, 3)), std::nullopt);
  EXPECT_EQ(admit(session("192.0.2.4", false, false, 4)), Limit::sessions_anonymous);
  EXPECT_EQ(admit(session("192.0.2.4", true, false, 5)), std::nullopt);
  EXPECT_EQ(admit(session("192.0.2.5", true, false, 6)), Limit::sessions_total);
  EXPECT_EQ(registry.size(), 4u);
  // Authenticated sessions also take slots anonymous ones could have used.
  registry.remove(ids.front());
  EXPECT_EQ(admit(session("192.0.2.6", false, false, 7)), Limit::sessions_anonymous);
  EXPECT_EQ(admit(session("192.0.2.6", true, false, 8)), std::nullopt);
}

TEST_F(SessionRegistryTest, AnonymousSessionsPerGroupCountDiscoveryAndIgnoreChap) {
  limits.max_anonymous_per_group = 2;
  EXPECT_EQ(admit(session("2001:db8:1:2::/64", false, false, 1)), std::nullopt);
  EXPECT_EQ(admit(session("2001:db8:1:2::/64", false, true, 2)), std::nullopt);
  EXPECT_EQ(admit(session("2001:db8:1:2::/64", false, false, 3)), Limit::sessions_per_ip);
  EXPECT_EQ(admit(session("2001:db8:1:2::/64", true, false, 4)), std::nullopt);
  EXPECT_EQ(admit(session("2001:db8:1:3::/64", false, false, 5)), std::nullopt);
  EXPECT_EQ(registry.anonymous_sessions("2001:db8:1:2::/64"), 2u);
  registry.remove(ids[0]);
  EXPECT_EQ(registry.anonymous_sessions("2001:db8:1:2::/64"), 1u);
  EXPECT_EQ(admit(session("2001:db8:1:2::/64", false, false, 6)), std::nullopt);
}

TEST_F(SessionRegistryTest, AnonymousDiscoverySessionsAreCappedServerWide) {
  limits.max_anonymous_discovery = 2;
  EXPECT_EQ(admit(session("192.0.2.1", false, true, 1)), std::nullopt);
  EXPECT_EQ(admit(session("192.0.2.2", false, true, 2)), std::nullopt);
  EXPECT_EQ(admit(session("192.0.2.3", false, true, 3)), Limit::discovery_sessions);
  EXPECT_EQ(admit(session("192.0.2.3", true, true, 4)), std::nullopt);    // CHAP discovery
  EXPECT_EQ(admit(session("192.0.2.3", false, false, 5)), std::nullopt);  // a normal session
}

TEST_F(SessionRegistryTest, ReinstatementCountsTheReplacedSessionAsGoneAndRefusalReinstatesNothing) {
  limits.max_sessions = 8;
  limits.max_anonymous_per_group = 1;
  int ended = 0;
  NewSession first = session("192.0.2.1", false);
  first.terminate = [&] { ++ended; };
  EXPECT_EQ(admit(first), std::nullopt);
  NewSession again = session("192.0.2.1", false);
  again.reinstate = true;
  EXPECT_EQ(admit(again), std::nullopt);  // replaces the first: still one in the group
  EXPECT_EQ(ended, 1);
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_EQ(registry.anonymous_sessions("192.0.2.1"), 1u);
  // Another key over the group's limit: refused, and nothing is terminated.
  NewSession other = session("192.0.2.1", false, false, 9);
  other.reinstate = true;
  other.terminate = [&] { ++ended; };
  EXPECT_EQ(admit(other), Limit::sessions_per_ip);
  EXPECT_EQ(ended, 1);
  EXPECT_EQ(registry.size(), 1u);
}

TEST_F(SessionRegistryTest, NoLimitsMeansNoRefusal) {
  for (uint8_t i = 0; i < 50; ++i) EXPECT_EQ(admit(session("192.0.2.1", false, i % 2 == 0, i)), std::nullopt);
  EXPECT_EQ(registry.size(), 50u);
  for (uint64_t id : ids) registry.remove(id);
  EXPECT_EQ(registry.anonymous_sessions("192.0.2.1"), 0u);
}

}  // namespace
}  // namespace scsipub::iscsi
