// The TargetAddress of a SendTargets answer (RFC 7143 13.8): the configured
// public host in each spelling it accepts, and the local address when none is.
#include "control/target_address.h"

#include <gtest/gtest.h>

namespace scsipub::control {
namespace {

iscsi::PortalInfo reached(std::string local_address, uint16_t local_port = 3260) {
  iscsi::PortalInfo p;
  p.local_address = std::move(local_address);
  p.local_port = local_port;
  p.peer_address = "198.51.100.7";
  return p;
}

TEST(TargetAddressTest, WithoutAPublicHostTheLocalAddressIsGiven) {
  EXPECT_EQ(target_address("", 1, reached("192.0.2.10")), "192.0.2.10:3260,1");
  EXPECT_EQ(target_address("", 7, reached("2001:db8::10", 3261)), "[2001:db8::10]:3261,7");
}

TEST(TargetAddressTest, APublicHostTakesThePortalsPortUnlessItNamesOne) {
  EXPECT_EQ(target_address("iscsi.example.net", 1, reached("10.0.0.1", 3261)), "iscsi.example.net:3261,1");
  EXPECT_EQ(target_address("iscsi.example.net:13260", 1, reached("10.0.0.1")), "iscsi.example.net:13260,1");
}

TEST(TargetAddressTest, IPv6PublicHostsAreBracketedOnce) {
  EXPECT_EQ(target_address("2001:db8::1", 1, reached("10.0.0.1")), "[2001:db8::1]:3260,1");
  EXPECT_EQ(target_address("[2001:db8::1]", 1, reached("10.0.0.1")), "[2001:db8::1]:3260,1");
  EXPECT_EQ(target_address("[2001:db8::1]:3262", 2, reached("10.0.0.1")), "[2001:db8::1]:3262,2");
}

}  // namespace
}  // namespace scsipub::control
