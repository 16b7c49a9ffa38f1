#include "iscsi/chap_throttle.h"

#include <utility>

namespace scsipub::iscsi {

AttemptWindow::AttemptWindow(Options options, Clock clock) : options_(options), clock_(std::move(clock)) {
  if (options_.limit == 0) options_.limit = 1;
  if (options_.max_entries == 0) options_.max_entries = 1;
}

bool AttemptWindow::expired(const Entry& e, TimePoint now) const { return now - e.window_start >= options_.window; }

bool AttemptWindow::allowed(std::string_view key) { return count(key) < options_.limit; }

uint32_t AttemptWindow::count(std::string_view key) {
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) return 0;
  if (expired(it->second, clock_())) {
    entries_.erase(it);
    return 0;
  }
  return it->second.count;
}

// Drops expired entries; if the table is still full, forgets the entry whose
// window started first, preferring one that is not locked: a flood of fresh
// keys must not be the way to unlock a locked one.
void AttemptWindow::make_room(TimePoint now) {
  std::erase_if(entries_, [&](const auto& kv) { return expired(kv.second, now); });
  if (entries_.size() < options_.max_entries) return;
  auto victim = entries_.end();
  bool victim_locked = true;
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const bool locked = it->second.count >= options_.limit;
    if (victim == entries_.end() || (victim_locked && !locked) ||
        (locked == victim_locked && it->second.window_start < victim->second.window_start)) {
      victim = it;
      victim_locked = locked;
    }
  }
  if (victim != entries_.end()) entries_.erase(victim);
}

std::optional<AttemptWindow::Charge> AttemptWindow::charge(std::string_view key) {
  const TimePoint now = clock_();
  std::string k(key);
  auto it = entries_.find(k);
  if (it != entries_.end() && expired(it->second, now)) it->second = Entry{now, 0};
  if (it == entries_.end()) {
    if (entries_.size() >= options_.max_entries) make_room(now);
    it = entries_.emplace(k, Entry{now, 0}).first;
  }
  if (it->second.count >= options_.limit) return std::nullopt;
  ++it->second.count;
  return Charge{std::move(k), it->second.window_start};
}

void AttemptWindow::refund(const Charge& charge) {
  auto it = entries_.find(charge.key);
  if (it == entries_.end() || it->second.window_start != charge.window_start || it->second.count == 0) return;
  if (--it->second.count == 0) entries_.erase(it);
}

// ---- ChapThrottle ----

ChapThrottle::ChapThrottle(Options options, AttemptWindow::Clock clock)
    : users_({options.per_user, options.window, options.max_entries}, clock),
      groups_({options.per_group, options.window, options.max_entries}, std::move(clock)) {}

// A NUL never occurs in an address group nor in a CHAP_N (RFC 7143 6.1: it
// ends a key=value pair), so the pair key is unambiguous.
std::string ChapThrottle::pair_key(std::string_view group, std::string_view user) {
  std::string key(group);
  key += '\0';
  key += user;
  return key;
}

ChapThrottle::Verdict ChapThrottle::check(std::string_view group, std::string_view user) {
  if (!groups_.allowed(group)) return Verdict::group_locked;
  if (!user.empty() && !users_.allowed(pair_key(group, user))) return Verdict::user_locked;
  return Verdict::allowed;
}

ChapThrottle::Verdict ChapThrottle::challenge(Attempt& attempt, std::string_view group, std::string_view user) {
  if (Verdict v = check(group, user); v != Verdict::allowed) return v;
  attempt.group = std::string(group);
  attempt.group_charge = groups_.charge(group);
  if (!user.empty()) attempt.user_charge = users_.charge(pair_key(group, user));
  return Verdict::allowed;
}

ChapThrottle::Verdict ChapThrottle::name_user(Attempt& attempt, std::string_view user) {
  if (attempt.user_charge) return Verdict::allowed;  // already charged at the challenge
  attempt.user_charge = users_.charge(pair_key(attempt.group, user));
  if (attempt.user_charge) return Verdict::allowed;
  if (attempt.group_charge) groups_.refund(*attempt.group_charge);
  attempt.group_charge.reset();
  return Verdict::user_locked;
}

void ChapThrottle::succeeded(Attempt& attempt) {
  if (attempt.group_charge) groups_.refund(*attempt.group_charge);
  if (attempt.user_charge) users_.refund(*attempt.user_charge);
  attempt.group_charge.reset();
  attempt.user_charge.reset();
}

uint32_t ChapThrottle::user_attempts(std::string_view group, std::string_view user) {
  return users_.count(pair_key(group, user));
}

uint32_t ChapThrottle::group_attempts(std::string_view group) { return groups_.count(group); }

}  // namespace scsipub::iscsi
