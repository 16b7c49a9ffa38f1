#include "control/fleet_disks.h"

#include <spdlog/spdlog.h>

namespace scsipub::control {

bool must_fence(const std::optional<db::LeaseRecord>& previous, std::string_view own_client) {
  return previous && !previous->owner_node.empty() && !previous->owner_client.empty() &&
         previous->owner_client != own_client;
}

FleetCallbacks fleet_disk_callbacks(ProvisionedDisks& disks, db::FleetStore& fleet, std::string self,
                                    std::function<uint32_t()> session_count) {
  FleetCallbacks cb;
  cb.session_count = std::move(session_count);
  cb.on_acquired = [&disks, &fleet, self](const std::string& disk_id, const db::LeaseRecord& lease,
                                          const std::optional<db::LeaseRecord>& previous,
                                          std::shared_ptr<const storage::LeaseDeadline> deadline) -> Status {
    if (must_fence(previous, disks.storage().client_address())) {
      if (Status s = disks.storage().fence(previous->owner_client); !s) {
        return fail(fmt::format("fencing {} (node {}): {}", previous->owner_client, previous->owner_node,
                                s.error().message));
      }
      spdlog::warn("disk {}: took over from node {} (epoch {}), fenced its storage client {}", disk_id,
                   previous->owner_node, lease.epoch, previous->owner_client);
    }
    OwnerLease owned;
    owned.deadline = std::move(deadline);
    owned.save_pr = [&fleet, self, epoch = lease.epoch](const db::LuKey& lu, const db::PrState& state) {
      return fleet.save_pr_state_fenced(lu, state, self, epoch);
    };
    if (Status s = disks.open_owned(disk_id, owned); !s) return s;
    spdlog::info("disk {}: serving under lease epoch {}", disk_id, lease.epoch);
    return ok_status();
  };
  cb.on_disk_records = [&disks](const std::vector<db::Disk>& records) { disks.sync_records(records); };
  cb.on_lost = [&disks](const std::string& disk_id) {
    spdlog::warn("disk {}: lease lost or given back, no longer served here", disk_id);
    disks.close_owned(disk_id);
  };
  return cb;
}

}  // namespace scsipub::control
