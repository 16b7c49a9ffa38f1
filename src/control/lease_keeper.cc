#include "control/lease_keeper.h"

#include <algorithm>
#include <string>

namespace scsipub::control {

Status validate(const LeaseTiming& t) {
  if (t.lease.count() <= 0 || t.renew_every.count() <= 0 || t.margin.count() < 0) {
    return fail("lease timing: lease and renewal interval must be positive, the margin not negative");
  }
  // At least two renewals fit between a renewal and its deadline, so one
  // lost round trip does not lose the lease.
  if (t.margin + 2 * t.renew_every >= t.lease) {
    return fail("lease timing: the lease (" + std::to_string(t.lease.count()) +
                " ms) must exceed the margin plus two renewal intervals (" +
                std::to_string((t.margin + 2 * t.renew_every).count()) + " ms)");
  }
  return ok_status();
}

LeaseKeeper::SteadyTime LeaseKeeper::granted(std::string_view disk_id, int64_t epoch, SteadyTime sent) {
  Entry e{Held{std::string(disk_id), epoch, sent, deadline_for(sent)}, false};
  auto it = leases_.insert_or_assign(std::string(disk_id), std::move(e)).first;
  return it->second.lease.deadline;
}

std::optional<LeaseKeeper::SteadyTime> LeaseKeeper::renewed(std::string_view disk_id, int64_t epoch,
                                                            SteadyTime sent) {
  auto it = leases_.find(disk_id);
  if (it == leases_.end() || it->second.lease.epoch != epoch || it->second.refused) return std::nullopt;
  Held& h = it->second.lease;
  if (sent > h.sent) {
    h.sent = sent;
    h.deadline = std::max(h.deadline, deadline_for(sent));
  }
  return h.deadline;
}

void LeaseKeeper::refused(std::string_view disk_id, int64_t epoch) {
  auto it = leases_.find(disk_id);
  if (it != leases_.end() && it->second.lease.epoch == epoch) it->second.refused = true;
}

std::vector<LeaseKeeper::Renewal> LeaseKeeper::due(SteadyTime now) const {
  std::vector<Renewal> out;
  for (const auto& [id, e] : leases_) {
    if (e.refused || now >= e.lease.deadline) continue;  // lost: nothing to renew
    if (now >= e.lease.sent + timing_.renew_every) out.push_back(Renewal{id, e.lease.epoch});
  }
  return out;
}

std::vector<LeaseKeeper::Held> LeaseKeeper::take_lost(SteadyTime now) {
  std::vector<Held> out;
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second.refused || now >= it->second.lease.deadline) {
      out.push_back(std::move(it->second.lease));
      it = leases_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::optional<LeaseKeeper::Held> LeaseKeeper::release(std::string_view disk_id) {
  auto it = leases_.find(disk_id);
  if (it == leases_.end()) return std::nullopt;
  Held h = std::move(it->second.lease);
  leases_.erase(it);
  return h;
}

bool LeaseKeeper::holds(std::string_view disk_id, SteadyTime now) const {
  auto it = leases_.find(disk_id);
  return it != leases_.end() && !it->second.refused && now < it->second.lease.deadline;
}

std::optional<LeaseKeeper::Held> LeaseKeeper::find(std::string_view disk_id) const {
  auto it = leases_.find(disk_id);
  if (it == leases_.end()) return std::nullopt;
  return it->second.lease;
}

std::vector<LeaseKeeper::Held> LeaseKeeper::held() const {
  std::vector<Held> out;
  out.reserve(leases_.size());
  for (const auto& [id, e] : leases_) out.push_back(e.lease);
  return out;
}

}  // namespace scsipub::control
