#include "web/peer_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace scsipub::web {
namespace {

sockaddr_in v4(const char* text, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, text, &a.sin_addr);
  return a;
}

sockaddr_in6 v6(const char* text, uint16_t port) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  ::inet_pton(AF_INET6, text, &a.sin6_addr);
  return a;
}

const sockaddr* sa(const auto& a) { return reinterpret_cast<const sockaddr*>(&a); }

TEST(PeerAddress, TextCarriesThePort) {
  EXPECT_EQ(peer_text(sa(v4("192.0.2.1", 40000))), "192.0.2.1:40000");
  EXPECT_EQ(peer_text(sa(v6("2001:db8::1", 443))), "[2001:db8::1]:443");
  EXPECT_EQ(peer_text(nullptr), "unknown");
}

TEST(PeerAddress, IPv6IsCountedPer64) {
  EXPECT_EQ(address_key(sa(v6("2001:db8:1:2:aaaa::1", 1))), address_key(sa(v6("2001:db8:1:2:ffff::9", 2))));
  EXPECT_EQ(address_key(sa(v6("2001:db8:1:2::1", 1))), "2001:db8:1:2::/64");
  EXPECT_NE(address_key(sa(v6("2001:db8:1:2::1", 1))), address_key(sa(v6("2001:db8:1:3::1", 1))));
}

TEST(PeerAddress, IPv4AndMappedIPv4CountTheSame) {
  EXPECT_EQ(address_key(sa(v4("198.51.100.7", 1))), "198.51.100.7");
  EXPECT_EQ(address_key(sa(v6("::ffff:198.51.100.7", 2))), "198.51.100.7");
  EXPECT_NE(address_key(sa(v4("198.51.100.7", 1))), address_key(sa(v4("198.51.100.8", 1))));
}

}  // namespace
}  // namespace scsipub::web
