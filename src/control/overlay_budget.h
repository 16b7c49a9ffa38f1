#pragma once
// The free tier's overlay bytes, reserved at login and returned at logout:
// each login holds its LUNs' worst case (write limit, or size) against its
// address group's budget and against the server-wide one, so strangers can
// neither fill the overlay filesystem nor starve each other of it.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/limit_events.h"

namespace scsipub::control {

class OverlayBudget {
 public:
  // 0 for either: no limit of that kind.
  OverlayBudget(uint64_t bytes_per_group, uint64_t bytes_total)
      : per_group_(bytes_per_group), total_(bytes_total) {}

  // Reserves `bytes` against both budgets, or neither; the limit that
  // refused otherwise. Thread-safe.
  std::optional<Limit> reserve(const std::string& group, uint64_t bytes);
  // Returns what reserve() took.
  void release(const std::string& group, uint64_t bytes);

  uint64_t held_by(const std::string& group) const;
  uint64_t held_total() const;

 private:
  const uint64_t per_group_;
  const uint64_t total_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t, std::less<>> by_group_;  // groups holding nothing are absent
  uint64_t total_held_ = 0;
};

}  // namespace scsipub::control
