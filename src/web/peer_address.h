#pragma once
// Client addresses for logs and for per-address limits.
#include <sys/socket.h>

#include <string>

namespace scsipub::web {

// "192.0.2.1:40000", "[2001:db8::1]:40000"; "unknown" for other families.
std::string peer_text(const sockaddr* addr);

// The key per-address limits count under: common/address_group.h's group
// (the IPv4 address, also when IPv4-mapped; the /64 of an IPv6 address).
std::string address_key(const sockaddr* addr);

}  // namespace scsipub::web
