#pragma once
// Where the control layer reads the time. Production passes SystemClock
// (wired once in app/serve.cc); tests pass a fixed clock, so a record's dates
// and a throttle's intervals are the same on every run.
#include <chrono>

namespace scsipub::control {

class Clock {
 public:
  using WallTime = std::chrono::system_clock::time_point;
  using SteadyTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  // Calendar time, for dates that outlive the process (a disk's creation and
  // expiry, the clean-shutdown marker).
  virtual WallTime wall_now() const = 0;
  // Monotonic time, for intervals within the process (log throttles).
  virtual SteadyTime steady_now() const = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace scsipub::control
