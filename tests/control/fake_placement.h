#pragma once
// A DiskPlacement whose answers a test sets: each disk's placement (here
// unless set), where new free-tier sessions go (here unless set) and which
// other nodes are alive (none unless set).
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "control/disk_placement.h"

namespace scsipub::testing {

class FakePlacement final : public control::DiskPlacement {
 public:
  control::Placement place_disk(std::string_view disk_id) const override {
    auto it = disks.find(std::string(disk_id));
    return it == disks.end() ? control::Placement{} : it->second;
  }
  std::optional<control::NodePortals> free_tier_redirect() const override { return free; }
  std::optional<control::NodePortals> alive_node(std::string_view node_id) const override {
    auto it = alive.find(std::string(node_id));
    if (it == alive.end()) return std::nullopt;
    return it->second;
  }

  // Every disk of `ids` served by `owner`.
  template <typename Ids>
  void elsewhere(const Ids& ids, const control::NodePortals& owner) {
    for (const auto& id : ids) disks[std::string(id)] = {control::Placement::Where::elsewhere, owner};
  }

  std::map<std::string, control::Placement> disks;
  std::optional<control::NodePortals> free;
  std::map<std::string, control::NodePortals> alive;  // other nodes alive, by id
};

}  // namespace scsipub::testing
