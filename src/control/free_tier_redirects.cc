#include "control/free_tier_redirects.h"

namespace scsipub::control {

size_t FreeTierRedirects::remember(const ReinstateKey& key, std::string node_id, Clock::SteadyTime now) {
  if (limits_.max_entries == 0) return 0;
  expire(now);
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    it->second.node_id = std::move(node_id);
    it->second.at = now;
    oldest_first_.splice(oldest_first_.end(), oldest_first_, it->second.position);
    return 0;
  }
  size_t evicted = 0;
  // One insertion evicts at most one entry: the map never exceeds the cap.
  if (by_key_.size() >= limits_.max_entries) {
    by_key_.erase(*oldest_first_.front());
    oldest_first_.pop_front();
    evicted = 1;
  }
  auto it = by_key_.emplace(key, Entry{std::move(node_id), now, {}}).first;
  it->second.position = oldest_first_.insert(oldest_first_.end(), &it->first);
  return evicted;
}

std::optional<std::string> FreeTierRedirects::node_for(const ReinstateKey& key, Clock::SteadyTime now) {
  expire(now);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second.node_id;
}

void FreeTierRedirects::forget(const ReinstateKey& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  oldest_first_.erase(it->second.position);
  by_key_.erase(it);
}

void FreeTierRedirects::expire(Clock::SteadyTime now) {
  while (!oldest_first_.empty()) {
    auto it = by_key_.find(*oldest_first_.front());
    if (now - it->second.at < limits_.remember) return;
    oldest_first_.pop_front();
    by_key_.erase(it);
  }
}

}  // namespace scsipub::control
