#pragma once
// A DiskPlacement whose answers a test sets: each disk's placement (here
// unless set) and where new free-tier sessions go (here unless set).
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

  // Every disk of `ids` served by `owner`.
  template <typename Ids>
  void elsewhere(const Ids& ids, const control::NodePortals& owner) {
    for (const auto& id : ids) disks[std::string(id)] = {control::Placement::Where::elsewhere, owner};
  }

  std::map<std::string, control::Placement> disks;
  std::optional<control::NodePortals> free;
};

}  // namespace scsipub::testing
