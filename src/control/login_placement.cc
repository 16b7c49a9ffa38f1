#include "control/login_placement.h"

#include <spdlog/spdlog.h>

#include "control/target_address.h"

namespace scsipub::control {

void place_login(iscsi::LoginTarget& target, const Placement& placement, uint16_t portal_group,
                 const iscsi::PortalInfo& portal) {
  using Where = iscsi::LoginTarget::Where;
  switch (placement.where) {
    case Placement::Where::here:
      target.where = Where::here;
      return;
    case Placement::Where::unavailable:
      target.where = Where::unavailable;
      return;
    case Placement::Where::elsewhere: break;
  }
  const std::string& owner_portal = portal.tls ? placement.owner.tls_portal : placement.owner.iscsi_portal;
  if (owner_portal.empty()) {
    spdlog::debug("{} is served by node {}, which has no {} portal", target.name, placement.owner.node_id,
                  portal.tls ? "TLS" : "iSCSI");
    target.where = Where::unavailable;
    return;
  }
  target.where = Where::moved;
  target.target_address = target_address(owner_portal, portal_group, portal);
}

}  // namespace scsipub::control
