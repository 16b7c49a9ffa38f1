#include "iscsi/traffic_metrics.h"

namespace scsipub::iscsi {

void TrafficMetrics::count_login(std::string_view kind, uint8_t status_class) {
  std::lock_guard lock(mu_);
  ++logins_[{std::string(kind.empty() ? "unknown" : kind), status_class}];
}

void TrafficMetrics::retire(const SessionDetails& d, std::chrono::steady_clock::time_point now) {
  if (d.kind.empty()) return;  // never fully logged in
  const double seconds = std::chrono::duration<double>(now - d.started).count();
  std::lock_guard lock(mu_);
  if (d.counters) retired_[{d.kind, d.image}] += TrafficTotals::of(*d.counters);
  Durations& h = durations_[d.kind];
  h.kind = d.kind;
  ++h.count;
  h.sum_seconds += seconds;
  for (size_t i = 0; i < kDurationBounds.size(); ++i) {
    if (seconds <= kDurationBounds[i]) {
      ++h.buckets[i];
      break;
    }
  }
}

TrafficMetrics::Snapshot TrafficMetrics::snapshot(const std::vector<SessionRecord>& live) const {
  std::map<Key, TrafficTotals> traffic;
  Snapshot s;
  {
    std::lock_guard lock(mu_);
    traffic = retired_;
    for (const auto& [key, n] : logins_) s.logins.push_back({key.first, key.second, n});
    for (const auto& [kind, h] : durations_) s.durations.push_back(h);
  }
  for (const auto& r : live) {
    if (r.details.kind.empty() || !r.details.counters) continue;
    traffic[{r.details.kind, r.details.image}] += TrafficTotals::of(*r.details.counters);
  }
  for (auto& [key, t] : traffic) s.traffic.push_back({key.first, key.second, t});
  return s;
}

}  // namespace scsipub::iscsi
