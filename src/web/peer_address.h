#pragma once
// Client addresses for logs and for per-address limits.
#include <sys/socket.h>

#include <string>

namespace scsipub::web {

// "192.0.2.1:40000", "[2001:db8::1]:40000"; "unknown" for other families.
std::string peer_text(const sockaddr* addr);

// The key per-address limits count under: an IPv4 address (also when
// IPv4-mapped into IPv6), or the /64 of an IPv6 address, since one
// subscriber is routinely handed a whole /64 (RFC 6177) and could otherwise
// open the limit once per address in it.
std::string address_key(const sockaddr* addr);

}  // namespace scsipub::web
