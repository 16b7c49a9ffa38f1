#include "control/retained_disks.h"

namespace scsipub::control {

std::optional<SessionDisks> RetainedDisks::put(ReinstateKey key, SessionDisks disks, Clock::SteadyTime deadline) {
  std::optional<SessionDisks> displaced = take(key);
  auto when = by_deadline_.emplace(deadline, key);
  by_key_.emplace(std::move(key), Entry{std::move(disks), when});
  return displaced;
}

std::optional<SessionDisks> RetainedDisks::take(const ReinstateKey& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  SessionDisks out = std::move(it->second.disks);
  by_deadline_.erase(it->second.deadline);
  by_key_.erase(it);
  return out;
}

std::vector<SessionDisks> RetainedDisks::take_expired(Clock::SteadyTime now) {
  std::vector<SessionDisks> out;
  while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
    auto it = by_key_.find(by_deadline_.begin()->second);
    by_deadline_.erase(by_deadline_.begin());
    if (it == by_key_.end()) continue;  // cannot happen: the two maps change together
    out.push_back(std::move(it->second.disks));
    by_key_.erase(it);
  }
  return out;
}

OverlayUsage usage_of(const SessionDisks& disks) {
  OverlayUsage u;
  for (const auto& o : disks.overlays) {
    u.bytes += o->bytes_written_shared();
    u.limit += o->write_limit() != 0 ? o->write_limit() : o->block_count() * storage::kBlockSize;
  }
  return u;
}

std::vector<RetainedDiskView> RetainedDisks::list() const {
  std::vector<RetainedDiskView> out;
  out.reserve(by_deadline_.size());
  for (const auto& [deadline, key] : by_deadline_) {
    auto it = by_key_.find(key);
    if (it != by_key_.end()) out.push_back({key, usage_of(it->second.disks), deadline});
  }
  return out;
}

std::vector<SessionDisks> RetainedDisks::take_all() {
  std::vector<SessionDisks> out;
  out.reserve(by_key_.size());
  for (auto& [key, entry] : by_key_) out.push_back(std::move(entry.disks));
  by_key_.clear();
  by_deadline_.clear();
  return out;
}

}  // namespace scsipub::control
