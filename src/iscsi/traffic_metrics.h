#pragma once
// Traffic and login counters per target kind and catalog image, for
// /metrics. Labels come only from LoginTarget (a bounded set: four kinds and
// the catalog), never from an initiator: a label per InitiatorName would let
// strangers grow the series without bound. Live sessions count through
// their own counters; an ended session's totals are folded in here, so the
// sums only grow. Touched at login and logout only; thread-safe.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "iscsi/session_registry.h"
#include "iscsi/session_stats.h"

namespace scsipub::iscsi {

class TrafficMetrics {
 public:
  // Upper bounds (seconds) of the session duration histogram: a boot, a
  // test, an hour's work, a day, the Raspberry Pi root that stays for weeks.
  static constexpr std::array<double, 9> kDurationBounds = {1, 10, 60, 300, 1800, 3600, 21600, 86400, 604800};

  struct Traffic {
    std::string kind;
    std::string image;
    TrafficTotals totals;
  };
  struct Logins {
    std::string kind;  // "unknown" when the login never named a known target
    uint8_t status_class = 0;
    uint64_t count = 0;
  };
  struct Durations {
    std::string kind;
    std::array<uint64_t, kDurationBounds.size()> buckets{};  // per bound, not cumulative
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  struct Snapshot {
    std::vector<Traffic> traffic;  // sorted by (kind, image)
    std::vector<Logins> logins;    // sorted by (kind, class)
    std::vector<Durations> durations;
  };

  // A login that ended, in success or not (RFC 7143 11.13.5 status class).
  void count_login(std::string_view kind, uint8_t status_class);
  // A session ended: fold its counters and its duration in.
  void retire(const SessionDetails& details, std::chrono::steady_clock::time_point now);
  // Ended sessions plus the live ones in `live`.
  Snapshot snapshot(const std::vector<SessionRecord>& live) const;

 private:
  using Key = std::pair<std::string, std::string>;  // (kind, image)
  mutable std::mutex mu_;
  std::map<Key, TrafficTotals> retired_;
  std::map<std::pair<std::string, uint8_t>, uint64_t> logins_;
  std::map<std::string, Durations> durations_;
};

}  // namespace scsipub::iscsi
