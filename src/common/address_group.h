#pragma once
// The unit every per-address limit counts in. One IPv4 address is one
// subscriber, but an IPv6 subscriber typically holds a whole /64 (RFC 6177,
// RFC 7934 hand out at least a /64 per link), and a limit keyed on the exact
// IPv6 address would give each of them 2^64 fresh addresses. So IPv6 peers
// are grouped by prefix; IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a
// dual-stack socket reports for an IPv4 peer, RFC 4291 2.5.5.2) are the IPv4
// address they carry.
#include <string>
#include <string_view>

namespace scsipub {

inline constexpr unsigned kDefaultIpv6PrefixLength = 64;
inline constexpr unsigned kMinIpv6PrefixLength = 32;
inline constexpr unsigned kMaxIpv6PrefixLength = 128;

// The group key of a numeric peer address:
//   "192.0.2.7"               -> "192.0.2.7"
//   "::ffff:192.0.2.7"        -> "192.0.2.7"
//   "2001:db8:1:2:a:b:c:d"    -> "2001:db8:1:2::/64"   (ipv6_prefix_length 64)
//   "fe80::1%eth0"            -> "fe80::/64"           (the zone is not part of the group)
// `ipv6_prefix_length` is clamped to 32..128. A string that is not a numeric
// address (never the case for a socket's peer) is its own group: "?" and at
// most 63 bytes of it, so it can neither make a key of any size nor share the
// group of a real address.
std::string address_group(std::string_view address, unsigned ipv6_prefix_length = kDefaultIpv6PrefixLength);

}  // namespace scsipub
