#include "control/target_address.h"

#include <fmt/format.h>

namespace scsipub::control {

std::string target_address(std::string_view public_host, uint16_t portal_group, const iscsi::PortalInfo& portal) {
  std::string host(public_host);
  std::string port = std::to_string(portal.local_port);
  if (!host.empty()) {
    // "host:port" unless it is a bare IPv6 address.
    auto colon = host.rfind(':');
    bool bracketed_v6 = host.front() == '[';
    bool bare_v6 = !bracketed_v6 && host.find(':') != colon;
    if (colon != std::string::npos && !bare_v6 && (!bracketed_v6 || host[colon - 1] == ']')) {
      port = host.substr(colon + 1);
      host.resize(colon);
    }
    if (bare_v6) host = "[" + host + "]";
  } else {
    host = portal.local_address.find(':') != std::string::npos ? "[" + portal.local_address + "]"
                                                                 : portal.local_address;
  }
  return fmt::format("{}:{},{}", host, port, portal_group);
}

}  // namespace scsipub::control
