#include "web/iscsiadm_commands.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace scsipub::web {
namespace {

control::DiskInfo disk(bool mutual) {
  control::DiskInfo d;
  d.id = "abc123";
  d.target = "iqn.2025-01.pub.scsipub:disk.abc123";
  d.chap_user = "u-abc123";
  d.chap_secret = "S3cretS3cret";
  if (mutual) d.mutual_secret = "MutualMutual";
  return d;
}

TEST(ShellQuote, LeavesInertWordsAlone) {
  EXPECT_EQ(shell_quote("abc-DEF_1.2:3260"), "abc-DEF_1.2:3260");
  EXPECT_EQ(shell_quote("iqn.2025-01.pub.scsipub:disk.x"), "iqn.2025-01.pub.scsipub:disk.x");
  EXPECT_EQ(shell_quote("a@b%c+d=e,f/g"), "a@b%c+d=e,f/g");
}

TEST(ShellQuote, QuotesEverythingElse) {
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("[::1]:3260"), "'[::1]:3260'");  // brackets glob
  EXPECT_EQ(shell_quote("a*"), "'a*'");
  EXPECT_EQ(shell_quote("a\nb"), "'a\nb'");
}

TEST(IscsiadmCommands, DiscoveryWithoutMutual) {
  auto c = iscsiadm_commands(disk(false), "192.0.2.1:3260");
  const std::vector<std::string> want = {
      "iscsiadm -m discoverydb -t sendtargets -p 192.0.2.1:3260 -o new",
      "iscsiadm -m discoverydb -t sendtargets -p 192.0.2.1:3260 -o update -n discovery.sendtargets.auth.authmethod -v CHAP",
      "iscsiadm -m discoverydb -t sendtargets -p 192.0.2.1:3260 -o update -n discovery.sendtargets.auth.username -v u-abc123",
      "iscsiadm -m discoverydb -t sendtargets -p 192.0.2.1:3260 -o update -n discovery.sendtargets.auth.password -v S3cretS3cret",
      "iscsiadm -m discoverydb -t sendtargets -p 192.0.2.1:3260 --discover",
      "iscsiadm -m node -T iqn.2025-01.pub.scsipub:disk.abc123 -p 192.0.2.1:3260 -o update -n node.session.auth.authmethod -v CHAP",
      "iscsiadm -m node -T iqn.2025-01.pub.scsipub:disk.abc123 -p 192.0.2.1:3260 -o update -n node.session.auth.username -v u-abc123",
      "iscsiadm -m node -T iqn.2025-01.pub.scsipub:disk.abc123 -p 192.0.2.1:3260 -o update -n node.session.auth.password -v S3cretS3cret",
      "iscsiadm -m node -T iqn.2025-01.pub.scsipub:disk.abc123 -p 192.0.2.1:3260 --login",
  };
  EXPECT_EQ(c.discovery, want);
}

TEST(IscsiadmCommands, StaticWithMutual) {
  auto c = iscsiadm_commands(disk(true), "192.0.2.1:3260");
  const std::string node = "iscsiadm -m node -T iqn.2025-01.pub.scsipub:disk.abc123 -p 192.0.2.1:3260";
  const std::vector<std::string> want = {
      "iscsiadm -m node -o new -T iqn.2025-01.pub.scsipub:disk.abc123 -p 192.0.2.1:3260",
      node + " -o update -n node.session.auth.authmethod -v CHAP",
      node + " -o update -n node.session.auth.username -v u-abc123",
      node + " -o update -n node.session.auth.password -v S3cretS3cret",
      node + " -o update -n node.session.auth.username_in -v iqn.2025-01.pub.scsipub:disk.abc123",
      node + " -o update -n node.session.auth.password_in -v MutualMutual",
      node + " --login",
  };
  EXPECT_EQ(c.static_config, want);
  EXPECT_EQ(c.logout, (std::vector<std::string>{node + " --logout", node + " -o delete"}));
}

TEST(IscsiadmCommands, MutualOnlyForTheNodeNotDiscovery) {
  auto c = iscsiadm_commands(disk(true), "192.0.2.1:3260");
  ASSERT_EQ(c.discovery.size(), 11u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(c.discovery[i].find("_in "), std::string::npos) << c.discovery[i];
  EXPECT_NE(c.discovery[8].find("node.session.auth.username_in"), std::string::npos);
  EXPECT_NE(c.discovery[9].find("node.session.auth.password_in -v MutualMutual"), std::string::npos);
  EXPECT_EQ(c.discovery.back(),
            "iscsiadm -m node -T iqn.2025-01.pub.scsipub:disk.abc123 -p 192.0.2.1:3260 --login");
}

TEST(IscsiadmCommands, QuotesHostileValues) {
  auto d = disk(false);
  d.chap_secret = "a'b $x";
  auto c = iscsiadm_commands(d, "[2001:db8::1]:3260");
  EXPECT_EQ(c.static_config[0],
            "iscsiadm -m node -o new -T iqn.2025-01.pub.scsipub:disk.abc123 -p '[2001:db8::1]:3260'");
  EXPECT_EQ(c.static_config[3],
            "iscsiadm -m node -T iqn.2025-01.pub.scsipub:disk.abc123 -p '[2001:db8::1]:3260' -o update -n "
            "node.session.auth.password -v 'a'\\''b $x'");
}

}  // namespace
}  // namespace scsipub::web
