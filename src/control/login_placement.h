#pragma once
// Turns where a target is served (DiskPlacement) into what the login
// negotiator answers: nothing for `here`, 01/01 with the owner's
// TargetAddress for `elsewhere` (RFC 7143 11.13.5, 13.8), 03/01 for
// `unavailable` (docs/REDIRECT.md says why that status).
#include <cstdint>

#include "control/disk_placement.h"
#include "iscsi/target_provider.h"

namespace scsipub::control {

// Sets `target.where` and `target.target_address`. A login over TLS goes to
// the owner's TLS portal; an owner without one (or without any portal) is
// treated as unavailable rather than sending the login to a plain-text port.
// `portal_group` is the fleet's TargetPortalGroupTag (the same on every node).
void place_login(iscsi::LoginTarget& target, const Placement& placement, uint16_t portal_group,
                 const iscsi::PortalInfo& portal);

}  // namespace scsipub::control
