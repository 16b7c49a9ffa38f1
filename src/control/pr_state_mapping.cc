#include "control/pr_state_mapping.h"

#include <algorithm>

namespace scsipub::control {

db::PrState to_db(const scsi::PrStateValue& s) {
  db::PrState out;
  out.generation = s.generation;
  for (const auto& r : s.registrations) {
    out.registrations.push_back({r.nexus.initiator_port, r.nexus.target_port, r.key, r.aptpl});
  }
  out.holder = s.holder;
  out.type = s.holder ? s.type : 0;
  out.scope = s.holder ? s.scope : 0;
  return out;
}

scsi::PrStateValue from_db(const db::PrState& s) {
  scsi::PrStateValue out;
  out.generation = s.generation;
  for (const auto& r : s.registrations) {
    out.registrations.push_back({{r.initiator_port, r.target_port}, r.key, r.aptpl});
  }
  out.holder = s.holder;
  out.type = s.type;
  out.scope = s.scope;
  out.aptpl = std::any_of(s.registrations.begin(), s.registrations.end(), [](const auto& r) { return r.aptpl; });
  return out;
}

}  // namespace scsipub::control
