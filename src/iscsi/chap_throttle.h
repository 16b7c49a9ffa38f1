#pragma once
// The CHAP brute-force throttle (docs/SECURITY.md "Admission model").
//
// Attempts are counted per (address group, CHAP user) pair, plus a much
// higher ceiling per address group, in fixed windows (a minute by default)
// that begin with a key's first attempt:
//   - an attempt is charged when the target sends its challenge, before the
//     initiator can answer, so parallel exchanges cannot all be verified
//     before the first one counts; for a discovery session the user is known
//     only when CHAP_N arrives, and the pair is charged then, before the
//     response is verified;
//   - a successful exchange is refunded; a failed or abandoned one keeps
//     its charge (so the count is failures plus exchanges still running);
//   - a locked pair or group is refused before any secret is checked, and
//     the refusal itself charges nothing, so a guesser hammering one locked
//     user cannot use up the group's ceiling and lock out the other users
//     behind the same NAT address.
// Pure: the clock is injected, nothing is shared, not thread safe (the owner
// locks), and both tables are bounded so a flood of keys cannot grow them.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace scsipub::iscsi {

// Per-key attempt counts in fixed windows, in a table of bounded size.
class AttemptWindow {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Clock = std::function<TimePoint()>;

  struct Options {
    uint32_t limit = 5;  // attempts per window; the key is locked once it has this many
    std::chrono::steady_clock::duration window = std::chrono::minutes(1);
    size_t max_entries = 4096;  // keys remembered at most
  };
  // What charge() took, for refund(): refunds never reach into a later window.
  struct Charge {
    std::string key;
    TimePoint window_start;
  };

  explicit AttemptWindow(Options options, Clock clock = [] { return std::chrono::steady_clock::now(); });

  // False while `key` has used up its attempts for the current window.
  bool allowed(std::string_view key);
  // Counts one attempt; nullopt (and nothing counted) when the key is locked.
  std::optional<Charge> charge(std::string_view key);
  // Gives back one attempt taken by charge() in the same window.
  void refund(const Charge& charge);
  // Attempts counted for `key` in its current window (0 when none or expired).
  uint32_t count(std::string_view key);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    TimePoint window_start;
    uint32_t count = 0;
  };
  bool expired(const Entry& e, TimePoint now) const;
  void make_room(TimePoint now);

  Options options_;
  Clock clock_;
  std::unordered_map<std::string, Entry> entries_;
};

class ChapThrottle {
 public:
  struct Options {
    uint32_t per_user = 5;    // [auth] chap_failures_per_minute, per (group, user)
    uint32_t per_group = 60;  // [auth] chap_attempts_per_minute_per_ip
    std::chrono::steady_clock::duration window = std::chrono::minutes(1);
    size_t max_entries = 4096;  // per table
  };
  enum class Verdict : uint8_t { allowed, user_locked, group_locked };

  // One CHAP exchange's charges; give it back to succeeded() or drop it.
  struct Attempt {
    std::string group;
    std::optional<AttemptWindow::Charge> group_charge;
    std::optional<AttemptWindow::Charge> user_charge;
  };

  explicit ChapThrottle(Options options, AttemptWindow::Clock clock = [] { return std::chrono::steady_clock::now(); });

  // Whether an exchange may start (nothing charged); `user` may be empty.
  Verdict check(std::string_view group, std::string_view user);
  // The challenge is being sent: charges the group and, when `user` is known
  // (a disk's target), the pair. Nothing is charged unless both are allowed.
  Verdict challenge(Attempt& attempt, std::string_view group, std::string_view user);
  // CHAP_N arrived in an exchange whose user was not known at the challenge
  // (discovery): charges the pair before the response is verified. A locked
  // pair gives the group its charge back: nothing will be verified.
  Verdict name_user(Attempt& attempt, std::string_view user);
  // The exchange authenticated: its charges are refunded.
  void succeeded(Attempt& attempt);

  uint32_t user_attempts(std::string_view group, std::string_view user);
  uint32_t group_attempts(std::string_view group);
  size_t size() const { return users_.size() + groups_.size(); }

 private:
  static std::string pair_key(std::string_view group, std::string_view user);

  AttemptWindow users_;
  AttemptWindow groups_;
};

}  // namespace scsipub::iscsi
