#include "control/fleet_placement.h"

#include <algorithm>
#include <functional>

namespace scsipub::control {
namespace {

NodePortals portals_of(const db::NodeRecord& node) { return {node.id, node.iscsi_portal, node.tls_portal}; }

// The snapshot keeps nodes ordered by id: a login costs O(log nodes).
const db::NodeRecord* find_node(const FleetSnapshot& seen, std::string_view id) {
  auto it = std::ranges::lower_bound(seen.nodes, id, std::less<>{}, &db::NodeRecord::id);
  return it == seen.nodes.end() || it->id != id ? nullptr : &*it;
}

}  // namespace

Placement place_from_snapshot(const FleetSnapshot& seen, std::string_view self, std::string_view disk_id) {
  Placement unavailable{Placement::Where::unavailable, {}};
  auto it = std::lower_bound(seen.leases.begin(), seen.leases.end(), disk_id,
                             [](const db::LeaseRecord& l, std::string_view id) { return l.disk_id < id; });
  if (it == seen.leases.end() || it->disk_id != disk_id) return unavailable;
  // Ours but not open yet (being opened, or just lost): not servable by anyone now.
  if (it->owner_node.empty() || it->owner_node == self || it->expires_ms <= seen.db_now_ms) return unavailable;
  const db::NodeRecord* owner = find_node(seen, it->owner_node);
  if (owner == nullptr || !owner->alive || owner->iscsi_portal.empty()) return unavailable;
  return {Placement::Where::elsewhere, portals_of(*owner)};
}

std::optional<NodePortals> alive_from_snapshot(const FleetSnapshot& seen, std::string_view self,
                                               std::string_view node_id) {
  if (node_id == self) return std::nullopt;
  const db::NodeRecord* node = find_node(seen, node_id);
  if (node == nullptr || !node->alive || node->iscsi_portal.empty()) return std::nullopt;
  return portals_of(*node);
}

Placement FleetPlacement::place_disk(std::string_view disk_id) const {
  if (sources_.open(disk_id)) return {};
  const FleetKeeper* keeper = keeper_.load(std::memory_order_acquire);
  if (keeper == nullptr) return {Placement::Where::unavailable, {}};
  return keeper->read([&](const FleetSnapshot& seen) { return place_from_snapshot(seen, sources_.self, disk_id); });
}

std::optional<NodePortals> FleetPlacement::free_tier_redirect() const {
  if (sources_.free_redirect_above == 0 || sources_.sessions() <= sources_.free_redirect_above) return std::nullopt;
  const FleetKeeper* keeper = keeper_.load(std::memory_order_acquire);
  if (keeper == nullptr) return std::nullopt;
  auto least = keeper->least_loaded_alive();
  if (!least || least->id == sources_.self || least->iscsi_portal.empty()) return std::nullopt;
  return portals_of(*least);
}

std::optional<NodePortals> FleetPlacement::alive_node(std::string_view node_id) const {
  const FleetKeeper* keeper = keeper_.load(std::memory_order_acquire);
  if (keeper == nullptr) return std::nullopt;
  return keeper->read([&](const FleetSnapshot& seen) { return alive_from_snapshot(seen, sources_.self, node_id); });
}

}  // namespace scsipub::control
