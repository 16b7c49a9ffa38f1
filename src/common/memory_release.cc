#include "common/memory_release.h"

#include <malloc.h>

namespace scsipub {

namespace {
// Blocks from here up are mapped on their own: every per-command write buffer
// past the pooled 4K-64K sizes, so freeing one unmaps it.
constexpr int kMmapThreshold = 256 << 10;
constexpr int kTrimThreshold = 1 << 20;
}  // namespace

// Under AddressSanitizer, malloc is ASan's and glibc's arenas hold nothing:
// a glibc trim would only set up glibc's allocator lazily on whichever loop
// thread trims first, and glibc's arena bookkeeping then aborts when those
// threads exit ("a->attached_threads > 0"). So the sanitizer build skips it.
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define SCSIPUB_GLIBC_MALLOC 1
#endif

void configure_allocator() {
#ifdef SCSIPUB_GLIBC_MALLOC
  // Setting either disables glibc's dynamic threshold adjustment (mallopt(3)).
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
#endif
}

void release_free_memory() {
#ifdef SCSIPUB_GLIBC_MALLOC
  malloc_trim(0);
#endif
}

SessionEndTrim::SessionEndTrim(size_t sessions_per_trim, std::chrono::milliseconds min_interval)
    : sessions_per_trim_(sessions_per_trim == 0 ? 1 : sessions_per_trim), min_interval_(min_interval) {}

SessionEndTrim::Decision SessionEndTrim::session_ended(size_t sessions_left, Clock::time_point now) {
  size_t ended = ended_since_trim_.fetch_add(1, std::memory_order_relaxed) + 1;
  // The last session gone: always worth it (once per emptying, so a logout
  // storm that empties the server pays for one trim at its end).
  if (sessions_left == 0) return claim(now) ? Decision::now : Decision::none;
  if (ended < sessions_per_trim_) return Decision::none;
  Clock::rep last = last_trim_.load(std::memory_order_relaxed);
  if (last != 0 && now.time_since_epoch() - Clock::duration(last) < min_interval_) {
    bool expected = false;
    return deferred_pending_.compare_exchange_strong(expected, true, std::memory_order_relaxed) ? Decision::later
                                                                                                : Decision::none;
  }
  return claim(now) ? Decision::now : Decision::none;
}

SessionEndTrim::Clock::time_point SessionEndTrim::retry_at() const {
  return Clock::time_point(Clock::duration(last_trim_.load(std::memory_order_relaxed))) + min_interval_;
}

bool SessionEndTrim::deferred(Clock::time_point now) {
  deferred_pending_.store(false, std::memory_order_relaxed);
  if (ended_since_trim_.load(std::memory_order_relaxed) == 0) return false;
  return claim(now);
}

// One caller wins a given trim: the counter restarts and the time is taken
// with a compare-exchange, so two loops ending sessions at once trim once.
bool SessionEndTrim::claim(Clock::time_point now) {
  Clock::rep last = last_trim_.load(std::memory_order_relaxed);
  Clock::rep stamp = now.time_since_epoch().count();
  if (stamp == 0) stamp = 1;  // 0 means "never"
  if (!last_trim_.compare_exchange_strong(last, stamp, std::memory_order_relaxed)) return false;
  ended_since_trim_.store(0, std::memory_order_relaxed);
  trims_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace scsipub
