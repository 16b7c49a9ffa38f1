#include "web/peer_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fmt/format.h>

#include "common/address_group.h"

namespace scsipub::web {
namespace {

std::string v4_text(const void* a) {
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, a, buf, sizeof buf);
  return buf;
}

std::string v6_text(const in6_addr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, &a, buf, sizeof buf);
  return buf;
}

}  // namespace

std::string peer_text(const sockaddr* addr) {
  if (addr == nullptr) return "unknown";
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    return fmt::format("{}:{}", v4_text(&in->sin_addr), ntohs(in->sin_port));
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    return fmt::format("[{}]:{}", v6_text(in6->sin6_addr), ntohs(in6->sin6_port));
  }
  return "unknown";
}

std::string address_key(const sockaddr* addr) {
  if (addr == nullptr) return "unknown";
  if (addr->sa_family == AF_INET) return address_group(v4_text(&reinterpret_cast<const sockaddr_in*>(addr)->sin_addr));
  if (addr->sa_family == AF_INET6) return address_group(v6_text(reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr));
  return "unknown";
}

}  // namespace scsipub::web
