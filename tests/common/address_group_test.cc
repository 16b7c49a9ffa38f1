#include "common/address_group.h"

#include <gtest/gtest.h>

#include <string>

namespace scsipub {
namespace {

TEST(AddressGroupTest, Ipv4IsItsOwnGroup) {
  EXPECT_EQ(address_group("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(address_group("127.0.0.1"), "127.0.0.1");
  EXPECT_NE(address_group("192.0.2.7"), address_group("192.0.2.8"));
}

TEST(AddressGroupTest, Ipv4MappedIpv6IsTheIpv4Address) {
  EXPECT_EQ(address_group("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(address_group("::FFFF:c000:0207"), "192.0.2.7");
  // Whatever the prefix length: a mapped address is one IPv4 subscriber.
  EXPECT_EQ(address_group("::ffff:192.0.2.7", 32), "192.0.2.7");
}

TEST(AddressGroupTest, Ipv6IsGroupedByPrefix) {
  EXPECT_EQ(address_group("2001:db8:1:2:a:b:c:d"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_group("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  EXPECT_NE(address_group("2001:db8:1:2::1"), address_group("2001:db8:1:3::1"));
  EXPECT_EQ(address_group("2001:db8:1:2:a:b:c:d", 48), "2001:db8:1::/48");
  EXPECT_EQ(address_group("2001:db8:1:2:a:b:c:d", 56), "2001:db8:1::/56");
  EXPECT_EQ(address_group("2001:db8:1:2ff:a:b:c:d", 56), "2001:db8:1:200::/56");
  EXPECT_EQ(address_group("2001:db8:1:2:a:b:c:d", 60), "2001:db8:1::/60");
  EXPECT_EQ(address_group("2001:db8:1:1f:a:b:c:d", 60), "2001:db8:1:10::/60");
  EXPECT_EQ(address_group("2001:db8:1:2:a:b:c:d", 128), "2001:db8:1:2:a:b:c:d/128");
  EXPECT_EQ(address_group("::1"), "::/64");
  EXPECT_EQ(address_group("::1", 128), "::1/128");
}

TEST(AddressGroupTest, PrefixLengthIsClampedTo32Through128) {
  EXPECT_EQ(address_group("2001:db8:1:2::1", 0), "2001:db8::/32");
  EXPECT_EQ(address_group("2001:db8:1:2::1", 8), "2001:db8::/32");
  EXPECT_EQ(address_group("2001:db8:1:2::1", 200), "2001:db8:1:2::1/128");
}

TEST(AddressGroupTest, ZoneIsNotPartOfTheGroup) {
  EXPECT_EQ(address_group("fe80::1%eth0"), "fe80::/64");
  EXPECT_EQ(address_group("fe80::1%eth0"), address_group("fe80::2%eth1"));
}

TEST(AddressGroupTest, TextThatIsNoAddressIsItsOwnBoundedGroup) {
  EXPECT_EQ(address_group(""), "?");
  EXPECT_EQ(address_group("example.org"), "?example.org");
  EXPECT_EQ(address_group("1.2.3.4 "), "?1.2.3.4 ");
  EXPECT_EQ(address_group("::ffff:1.2.3.4.5"), "?::ffff:1.2.3.4.5");
  EXPECT_EQ(address_group("2001:db8::1::2"), "?2001:db8::1::2");
  EXPECT_EQ(address_group("%"), "?%");
  std::string nul("1.2.3.4\0junk", 12);
  EXPECT_EQ(address_group(nul), "?" + nul);
  std::string huge(100000, ':');
  EXPECT_EQ(address_group(huge).size(), 64u);
  EXPECT_NE(address_group("junk-a"), address_group("junk-b"));
  // A group key handed back in is not mistaken for the group itself.
  EXPECT_EQ(address_group("2001:db8:1:2::/64"), "?2001:db8:1:2::/64");
  EXPECT_EQ(address_group("1.2.3.4/8"), "?1.2.3.4/8");
}

}  // namespace
}  // namespace scsipub
