#include "scsi/lun_map.h"

#include <algorithm>

namespace scsipub::scsi {

void LunMap::add(uint64_t lun, std::shared_ptr<lu::LogicalUnit> unit) {
  auto it = std::lower_bound(numbers_.begin(), numbers_.end(), lun);
  const auto at = it - numbers_.begin();
  if (it != numbers_.end() && *it == lun) {
    units_[size_t(at)] = std::move(unit);
    return;
  }
  numbers_.insert(it, lun);
  units_.insert(units_.begin() + at, std::move(unit));
}

lu::LogicalUnit* LunMap::find(uint64_t lun) const {
  auto it = std::lower_bound(numbers_.begin(), numbers_.end(), lun);
  if (it == numbers_.end() || *it != lun) return nullptr;
  return units_[size_t(it - numbers_.begin())].get();
}

void LunMap::clear() {
  numbers_.clear();
  units_.clear();
}

}  // namespace scsipub::scsi
