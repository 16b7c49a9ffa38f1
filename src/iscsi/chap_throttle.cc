#include "iscsi/chap_throttle.h"

#include <utility>

namespace scsipub::iscsi {

AuthFailureThrottle::AuthFailureThrottle(Options options, Clock clock)
    : options_(options), clock_(std::move(clock)) {
  if (options_.max_failures == 0) options_.max_failures = 1;
  if (options_.max_entries == 0) options_.max_entries = 1;
}

bool AuthFailureThrottle::expired(const Entry& e, std::chrono::steady_clock::time_point now) const {
  return now - e.window_start >= options_.window;
}

bool AuthFailureThrottle::allowed(std::string_view address) {
  auto it = entries_.find(std::string(address));
  if (it == entries_.end()) return true;
  if (expired(it->second, clock_())) {
    entries_.erase(it);
    return true;
  }
  return it->second.failures < options_.max_failures;
}

uint32_t AuthFailureThrottle::failures(std::string_view address) {
  auto it = entries_.find(std::string(address));
  if (it == entries_.end() || expired(it->second, clock_())) return 0;
  return it->second.failures;
}

// Drops expired entries; if the table is still full, forgets the entry whose
// window started first, preferring one that is not currently blocking.
void AuthFailureThrottle::make_room(std::chrono::steady_clock::time_point now) {
  std::erase_if(entries_, [&](const auto& kv) { return expired(kv.second, now); });
  if (entries_.size() < options_.max_entries) return;
  auto victim = entries_.end();
  bool victim_blocked = true;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const bool blocked = it->second.failures >= options_.max_failures;
    if (victim == entries_.end() || (victim_blocked && !blocked) ||
        (blocked == victim_blocked && it->second.window_start < victim->second.window_start)) {
      victim = it;
      victim_blocked = blocked;
    }
  }
  if (victim != entries_.end()) entries_.erase(victim);
}

void AuthFailureThrottle::record_failure(std::string_view address) {
  const auto now = clock_();
  std::string key(address);
  auto it = entries_.find(key);
  if (it != entries_.end() && expired(it->second, now)) {
    it->second = Entry{now, 0};
  }
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_entries) make_room(now);
    it = entries_.emplace(std::move(key), Entry{now, 0}).first;
  }
  if (it->second.failures < UINT32_MAX) ++it->second.failures;
}

}  // namespace scsipub::iscsi
