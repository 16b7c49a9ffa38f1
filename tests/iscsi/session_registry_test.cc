// SessionRegistry::admit: the session limits of the admission model as pure
// values (docs/SECURITY.md "Admission model").
#include "iscsi/session_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
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

// Every TSIH but the reserved 0 can be handed out, each once; the next login
// is refused (tsih 0); a freed TSIH becomes usable again. Also a scaling
// check: 65 535 logins stay fast only when a TSIH is found without scanning
// the live sessions.
TEST_F(SessionRegistryTest, EveryTsihIsHandedOutOnceAndAFreedOneComesBack) {
  std::set<uint16_t> seen;
  std::vector<SessionRecord> live;
  for (uint32_t i = 0; i < 65535; ++i) {
    SessionKey key{"iqn.2025-01.test:ini" + std::to_string(i), {0x80, 0, 0, 0, 0, 1}, "iqn.2025-01.test:t"};
    SessionRecord r = registry.add(key, "192.0.2.1", false, false, nullptr);
    ASSERT_NE(r.tsih, 0u) << "login " << i;
    ASSERT_TRUE(seen.insert(r.tsih).second) << "TSIH " << r.tsih << " handed out twice";
    if (i == 1234) live.push_back(r);
  }
  EXPECT_EQ(registry.add(SessionKey{"iqn.2025-01.test:late", {}, "t"}, "192.0.2.1", false, false, nullptr).tsih, 0u);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_TRUE(registry.tsih_live(live[0].tsih));
  registry.remove(live[0].id);
  EXPECT_FALSE(registry.tsih_live(live[0].tsih));
  EXPECT_EQ(registry.add(SessionKey{"iqn.2025-01.test:late", {}, "t"}, "192.0.2.1", false, false, nullptr).tsih,
            live[0].tsih);
}

// The key and TSIH indexes against a plain list of what should be live, over
// random logins (some reinstating), logouts and addresses.
TEST_F(SessionRegistryTest, LookupsAgreeWithAModelOverRandomLoginsAndLogouts) {
  struct Live {
    uint64_t id;
    uint16_t tsih;
    SessionKey key;
    std::string peer;
  };
  std::vector<Live> model;
  int terminated = 0;  // outlives every record's terminate callback
  std::mt19937 rng(7);
  auto key_of = [](uint32_t k) {
    return SessionKey{"iqn.2025-01.test:ini" + std::to_string(k % 3), {0x80, 0, 0, 0, 0, uint8_t(k % 4)},
                      "iqn.2025-01.test:t"};
  };
  const std::vector<std::string> peers{"192.0.2.1", "192.0.2.2"};
  for (int step = 0; step < 3000; ++step) {
    const uint32_t k = rng() % 12;
    const std::string& peer = peers[rng() % peers.size()];
    if (rng() % 3 == 0 && !model.empty()) {
      size_t at = rng() % model.size();
      registry.remove(model[at].id);
      model.erase(model.begin() + long(at));
    } else {
      const bool reinstate = rng() % 2 == 0;
      const int before = terminated;
      SessionRecord r = registry.add(key_of(k), peer, false, reinstate, [&terminated] { ++terminated; });
      ASSERT_NE(r.tsih, 0u);
      if (reinstate) {
        // Every live session with the key ends (the caller fenced by address before).
        auto same = [&](const Live& l) { return l.key == key_of(k); };
        const auto replaced = std::count_if(model.begin(), model.end(), same);
        model.erase(std::remove_if(model.begin(), model.end(), same), model.end());
        EXPECT_EQ(terminated - before, replaced);
      } else {
        EXPECT_EQ(terminated, before);
      }
      model.push_back({r.id, r.tsih, key_of(k), peer});
    }
    ASSERT_EQ(registry.size(), model.size());
    for (uint32_t q = 0; q < 12; ++q) {
      const SessionKey key = key_of(q);
      std::vector<const Live*> want;
      for (const Live& l : model) {
        if (l.key == key) want.push_back(&l);
      }
      auto got = registry.find(key);
      ASSERT_EQ(got.size(), want.size());
      for (const std::string& p : peers) {
        const bool all_from_p =
            !want.empty() && std::all_of(want.begin(), want.end(), [&](const Live* l) { return l->peer == p; });
        EXPECT_EQ(registry.reinstatable_from(key, p), all_from_p);
      }
    }
    std::set<uint16_t> tsihs;
    for (const Live& l : model) {
      EXPECT_TRUE(registry.tsih_live(l.tsih));
      EXPECT_TRUE(tsihs.insert(l.tsih).second);
    }
  }
}

}  // namespace
}  // namespace scsipub::iscsi
