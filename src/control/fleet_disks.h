#pragma once
// What a fleet node does with the disks its keeper takes and loses: before it
// opens a disk whose previous owner's lease expired, it fences that owner's
// storage client (RBD: the OSD blocklist), so a paused or partitioned owner
// that wakes up cannot write; it serves the disk under the lease (a store
// that refuses every verb past the local deadline, PR changes saved only
// while the epoch is still ours); and it closes the disk when the lease is
// lost. A lease given back cleanly (owner "" in the row) fences nobody: that
// node is alive and its client serves its other disks.
#include <cstdint>
#include <functional>
#include <string>

#include "control/fleet_keeper.h"
#include "control/provisioned_disks.h"
#include "db/fleet_store.h"

namespace scsipub::control {

// `disks`, `fleet` outlive the keeper that calls these.
FleetCallbacks fleet_disk_callbacks(ProvisionedDisks& disks, db::FleetStore& fleet, std::string self,
                                    std::function<uint32_t()> session_count);

// Whether taking over from `previous` must fence its client first.
bool must_fence(const std::optional<db::LeaseRecord>& previous, std::string_view own_client);

}  // namespace scsipub::control
