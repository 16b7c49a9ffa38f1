#include "common/address_group.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <string>

namespace scsipub {
namespace {

// Longer than any numeric IPv6 text (45 bytes, INET6_ADDRSTRLEN - 1) plus a zone.
constexpr size_t kMaxAddressText = 64;

bool ipv4_mapped(const in6_addr& a) {
  static constexpr std::array<uint8_t, 12> kPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::equal(kPrefix.begin(), kPrefix.end(), a.s6_addr);
}

// Marked so it can never equal the group of a real address.
std::string not_an_address(std::string_view text) {
  std::string out(1, '?');  // appended, not "?" + string: GCC 12 -O3 flags that with a false -Wrestrict
  out.append(text.substr(0, kMaxAddressText - 1));
  return out;
}

}  // namespace

std::string address_group(std::string_view address, unsigned ipv6_prefix_length) {
  if (address.size() > kMaxAddressText) return not_an_address(address);
  // inet_pton wants a C string and knows nothing of zones ("fe80::1%eth0").
  std::string text(address.substr(0, address.find('%')));
  if (text.find('\0') != std::string::npos) return not_an_address(address);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return text;
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return not_an_address(address);

  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (ipv4_mapped(v6)) {
    std::copy(v6.s6_addr + 12, v6.s6_addr + 16, reinterpret_cast<uint8_t*>(&v4.s_addr));
    if (inet_ntop(AF_INET, &v4, buf.data(), buf.size()) == nullptr) return text;
    return buf.data();
  }
  const unsigned bits = std::clamp(ipv6_prefix_length, kMinIpv6PrefixLength, kMaxIpv6PrefixLength);
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned first_bit = i * 8;
    if (first_bit >= bits) {
      v6.s6_addr[i] = 0;
    } else if (bits - first_bit < 8) {
      v6.s6_addr[i] &= static_cast<uint8_t>(0xff00u >> (bits - first_bit));
    }
  }
  if (inet_ntop(AF_INET6, &v6, buf.data(), buf.size()) == nullptr) return text;
  return std::string(buf.data()) + "/" + std::to_string(bits);
}

}  // namespace scsipub
