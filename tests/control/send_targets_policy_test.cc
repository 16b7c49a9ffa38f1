// Who sees which targets in a SendTargets answer, with the account and
// anonymous target lists as plain functions.
#include "control/send_targets_policy.h"

#include <gtest/gtest.h>

namespace scsipub::control {
namespace {

using Names = std::vector<std::string>;

class SendTargetsPolicyTest : public ::testing::Test {
 protected:
  SendTargetsPolicy policy{
      SendTargetsPolicy::Sources{
          [](std::string_view user) { return user == "payer" ? Names{"disk.1", "disk.2"} : Names{}; },
          [] { return Names{"blank", "multi"}; },
          [](std::string_view name) { return name == "blank" || name == "multi"; },
      },
      "", 1};
  iscsi::PortalInfo plain{"192.0.2.1", 3260, "198.51.100.7", 40000, false};

  Names names(std::string_view which, std::string_view session_target, std::string_view user,
              const iscsi::PortalInfo* portal = nullptr) {
    Names out;
    for (const auto& e : policy.answer(which, session_target, user, portal ? *portal : plain)) out.push_back(e.name);
    return out;
  }
};

TEST_F(SendTargetsPolicyTest, AStrangerSeesTheAnonymousTargets) {
  EXPECT_EQ(names("All", "", ""), (Names{"blank", "multi"}));
  EXPECT_EQ(names("multi", "", ""), Names{"multi"});
  EXPECT_EQ(names("disk.1", "", ""), Names{});  // a paid disk is not named to a stranger
  EXPECT_EQ(names("", "blank", ""), Names{"blank"});  // a normal session: its own target
}

TEST_F(SendTargetsPolicyTest, AnAuthenticatedSessionSeesItsAccountOnly) {
  EXPECT_EQ(names("All", "", "payer"), (Names{"disk.1", "disk.2"}));
  EXPECT_EQ(names("disk.2", "", "payer"), Names{"disk.2"});
  EXPECT_EQ(names("blank", "", "payer"), Names{});
  EXPECT_EQ(names("", "disk.1", "payer"), Names{"disk.1"});
  EXPECT_EQ(names("All", "", "someone-else"), Names{});
}

TEST_F(SendTargetsPolicyTest, EveryEntryCarriesThePortalExceptOverTls) {
  auto p = policy.answer("All", "", "", plain);
  ASSERT_EQ(p.size(), 2u);
  for (const auto& e : p) EXPECT_EQ(e.addresses, Names{"192.0.2.1:3260,1"});
  iscsi::PortalInfo tls = plain;
  tls.tls = true;
  auto t = policy.answer("All", "", "", tls);
  ASSERT_EQ(t.size(), 2u);
  for (const auto& e : t) EXPECT_TRUE(e.addresses.empty());
}

TEST(SendTargetsPlacementTest, ATargetServedElsewhereIsListedAtItsOwnersPortal) {
  SendTargetsPolicy policy{
      SendTargetsPolicy::Sources{
          [](std::string_view) { return Names{"disk.1", "disk.2", "disk.3"}; },
          [] { return Names{}; },
          [](std::string_view) { return false; },
          [](std::string_view name) -> std::optional<std::string> {
            if (name == "disk.2") return "192.0.2.20:3260";
            if (name == "disk.3") return "[2001:db8::3]:3262";
            return std::nullopt;
          },
      },
      "public.example", 5};
  iscsi::PortalInfo plain{"192.0.2.1", 3260, "198.51.100.7", 40000, false};
  auto p = policy.answer("All", "", "payer", plain);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].addresses, Names{"public.example:3260,5"});
  EXPECT_EQ(p[1].addresses, Names{"192.0.2.20:3260,5"});
  EXPECT_EQ(p[2].addresses, Names{"[2001:db8::3]:3262,5"});
  iscsi::PortalInfo tls = plain;
  tls.tls = true;
  for (const auto& e : policy.answer("All", "", "payer", tls)) EXPECT_TRUE(e.addresses.empty()) << e.name;
}

}  // namespace
}  // namespace scsipub::control
