#pragma once
// Which logical units a target exposes to one session, for LUN routing and
// REPORT LUNS: LUN number -> logical unit, kept in ascending LUN order
// (SPC-4 6.33 lists them that way). The one map used by the control layer's
// bindings and by every test and fuzz target.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "lu/logical_unit.h"

namespace scsipub::scsi {

class LunMap {
 public:
  // Adds `unit` as `lun`, replacing whatever that LUN held.
  void add(uint64_t lun, std::shared_ptr<lu::LogicalUnit> unit);
  // nullptr when no unit has that LUN.
  lu::LogicalUnit* find(uint64_t lun) const;
  std::span<const uint64_t> luns() const { return numbers_; }  // ascending
  // The units, in the order of luns().
  const std::vector<std::shared_ptr<lu::LogicalUnit>>& units() const { return units_; }
  // Drops the map's references (a private overlay is deleted when its last one goes).
  void clear();

 private:
  std::vector<uint64_t> numbers_;  // ascending, unique
  std::vector<std::shared_ptr<lu::LogicalUnit>> units_;
};

}  // namespace scsipub::scsi
