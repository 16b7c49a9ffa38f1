#pragma once
// Hands memory a finished burst no longer needs back to the operating system.
// glibc raises its mmap threshold each time a large block is freed, after which
// blocks of that size come from the heap arenas and stay resident after free:
// an attacker's 16 MiB writes would leave the process that much bigger for good.
// Process-wide allocator settings, so the server sets them once at start.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace scsipub {

// Fixes the mmap threshold (large buffers map and unmap on their own) and the
// trim threshold. Call once, before the event loops start.
void configure_allocator();
// Returns free heap pages to the OS (after a connection that held much memory).
void release_free_memory();

// Decides when ended sessions have freed enough memory to be worth a trim.
// What thousands of sessions used is free after they end but stays resident
// in the allocator's heap (it is fragmented with the survivors, so glibc's
// own top-of-heap trim rarely applies). Trimming on every logout would cost a
// heap walk per session in a logout storm; trimming only when the server
// empties leaves a server that always has some sessions at its peak. So: a
// trim when the last session ends, and otherwise after every
// `sessions_per_trim` ended sessions, at most once per `min_interval`; ended
// sessions that fall inside the interval get one deferred trim at its end.
// Thread-safe: every event loop reports to the one instance.
class SessionEndTrim {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kDefaultSessionsPerTrim = 256;
  static constexpr std::chrono::milliseconds kDefaultMinInterval{1000};

  explicit SessionEndTrim(size_t sessions_per_trim = kDefaultSessionsPerTrim,
                          std::chrono::milliseconds min_interval = kDefaultMinInterval);

  enum class Decision : uint8_t {
    none,   // nothing to do
    now,    // trim now (counted as done)
    later,  // enough ended but the last trim was recent: call deferred() at retry_at()
  };
  // A logged-in session ended and `sessions_left` are still live.
  Decision session_ended(size_t sessions_left, Clock::time_point now);
  // Where a deferred trim was handed out, when it is due. Only one is handed
  // out at a time, so the end of a logout storm is trimmed once, not once per
  // session that ended inside the interval.
  Clock::time_point retry_at() const;
  // The deferred trim is due: true if sessions ended since the last trim
  // (the caller trims; counted as done).
  bool deferred(Clock::time_point now);
  uint64_t trims() const { return trims_.load(std::memory_order_relaxed); }

 private:
  bool claim(Clock::time_point now);
  std::atomic<bool> deferred_pending_{false};

  const size_t sessions_per_trim_;
  const Clock::duration min_interval_;
  std::atomic<size_t> ended_since_trim_{0};
  std::atomic<Clock::rep> last_trim_{0};  // time_since_epoch of the last trim; 0: none yet
  std::atomic<uint64_t> trims_{0};
};

}  // namespace scsipub
