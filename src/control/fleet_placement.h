#pragma once
// Placement on a node of a fleet: a disk is served here while this node has
// it open under its lease; it lives elsewhere when another alive node holds
// an unexpired lease; otherwise nobody serves it at this instant (a failover
// in progress: the initiator retries). New free-tier sessions go to the
// least-loaded alive node once this one holds more than the configured
// number of sessions. Everything comes from memory (the keeper's snapshot and
// the disk registry), never from the database: logins ask on an event loop.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "control/disk_placement.h"
#include "control/fleet_keeper.h"

namespace scsipub::control {

class FleetPlacement final : public DiskPlacement {
 public:
  struct Sources {
    std::string self;                           // this node's id
    std::function<bool(std::string_view)> open;  // the disk is open here (ProvisionedDisks::is_open)
    std::function<uint32_t()> sessions;          // logged-in sessions on this node
    uint32_t free_redirect_above = 0;            // 0: free-tier logins stay here
  };
  explicit FleetPlacement(Sources sources) : sources_(std::move(sources)) {}

  // The keeper starts after the listener (it needs the registry's session
  // count); until it is attached every disk not open here is unavailable.
  void attach(const FleetKeeper* keeper) { keeper_.store(keeper, std::memory_order_release); }

  Placement place_disk(std::string_view disk_id) const override;
  std::optional<NodePortals> free_tier_redirect() const override;
  std::optional<NodePortals> alive_node(std::string_view node_id) const override;

 private:
  Sources sources_;
  std::atomic<const FleetKeeper*> keeper_{nullptr};
};

// The pure decision, for tests: where `disk_id` lives according to `seen`
// when this node (`self`) does not have it open.
Placement place_from_snapshot(const FleetSnapshot& seen, std::string_view self, std::string_view disk_id);
// The pure decision, for tests: `node_id`'s portals when `seen` has it alive
// with an iSCSI portal and it is not this node (`self`).
std::optional<NodePortals> alive_from_snapshot(const FleetSnapshot& seen, std::string_view self,
                                               std::string_view node_id);

}  // namespace scsipub::control
