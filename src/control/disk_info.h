#pragma once
// A provisioned disk as the API and the operator dashboard describe it.
#include "control/disk_service.h"
#include "control/provisioned_disks.h"
#include "iscsi/session_registry.h"

namespace scsipub::control {

// With its secrets; with its live sessions when `sessions` is given.
DiskInfo describe_disk(const ProvisionedDisk& disk, const iscsi::SessionRegistry* sessions);

// 12 lowercase hex digits.
std::string isid_hex(const std::array<uint8_t, 6>& isid);

}  // namespace scsipub::control
