#pragma once
// The TargetAddress a SendTargets answer gives (RFC 7143 13.8 and appendix
// C): "host:port,portal-group-tag", an IPv6 host in brackets.
#include <cstdint>
#include <string>
#include <string_view>

#include "iscsi/target_provider.h"

namespace scsipub::control {

// `public_host` is "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6
// address; empty means the address the initiator reached (portal's local
// address). Without a port in `public_host` the portal's local port is used.
std::string target_address(std::string_view public_host, uint16_t portal_group, const iscsi::PortalInfo& portal);

}  // namespace scsipub::control
