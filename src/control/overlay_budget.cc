#include "control/overlay_budget.h"

#include <algorithm>

namespace scsipub::control {

std::optional<Limit> OverlayBudget::reserve(const std::string& group, uint64_t bytes) {
  std::lock_guard lock(mu_);
  auto it = by_group_.find(group);
  const uint64_t held = it == by_group_.end() ? 0 : it->second;
  if (per_group_ != 0 && (bytes > per_group_ || held > per_group_ - bytes)) return Limit::free_overlay_per_ip;
  if (total_ != 0 && (bytes > total_ || total_held_ > total_ - bytes)) return Limit::free_overlay_total;
  by_group_[group] = held + bytes;
  total_held_ += bytes;
  return std::nullopt;
}

void OverlayBudget::release(const std::string& group, uint64_t bytes) {
  std::lock_guard lock(mu_);
  if (auto it = by_group_.find(group); it != by_group_.end()) {
    it->second -= std::min(it->second, bytes);
    if (it->second == 0) by_group_.erase(it);
  }
  total_held_ -= std::min(total_held_, bytes);
}

uint64_t OverlayBudget::held_by(const std::string& group) const {
  std::lock_guard lock(mu_);
  auto it = by_group_.find(group);
  return it == by_group_.end() ? 0 : it->second;
}

uint64_t OverlayBudget::held_total() const {
  std::lock_guard lock(mu_);
  return total_held_;
}

}  // namespace scsipub::control
