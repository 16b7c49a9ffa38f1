#pragma once
// A clock that moves only when the test says so and a randomness source that
// gives the same bytes on every run: control code built with them behaves
// the same on every run (ids, secrets, dates, throttle windows).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <span>

#include "control/clock.h"
#include "control/random_source.h"

namespace scsipub::testing {

class FixedClock final : public control::Clock {
 public:
  // 2026-01-01T00:00:00Z unless told otherwise.
  explicit FixedClock(WallTime wall = WallTime(std::chrono::seconds(1767225600))) : wall_(wall) {}
  WallTime wall_now() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  SteadyTime steady_now() const override {
    std::lock_guard lock(mu_);
    return steady_;
  }
  void advance(std::chrono::seconds by) {
    std::lock_guard lock(mu_);
    wall_ += by;
    steady_ += by;
  }

 private:
  mutable std::mutex mu_;
  WallTime wall_;
  SteadyTime steady_{};
};

// std::mt19937_64 (its output is fixed by the standard): every value and
// byte is a function of the seed and of how many were drawn before.
class SeededRandom final : public control::RandomSource {
 public:
  explicit SeededRandom(uint64_t seed = 1) : engine_(seed) {}
  uint64_t next_u64() override {
    std::lock_guard lock(mu_);
    return engine_();
  }
  bool fill_secure(std::span<uint8_t> out) override {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < out.size(); i += 8) {
      uint64_t v = engine_();
      for (size_t j = i; j < out.size() && j < i + 8; ++j, v >>= 8) out[j] = uint8_t(v);
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::mt19937_64 engine_;
};

}  // namespace scsipub::testing
