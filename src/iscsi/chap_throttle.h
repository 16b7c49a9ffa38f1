#pragma once
// Per-source-address throttle for failed logins (CHAP brute force): after
// `max_failures` authentication failures within one window (a minute by
// default) from one address, further attempts from it are refused until the
// window that began with its first failure ends. Pure: the clock is injected,
// nothing is shared, and the table is bounded so a flood of source addresses
// cannot grow it without limit. The connection consults it before a login
// and reports failures to it; it is not thread safe (one per acceptor/loop).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace scsipub::iscsi {

class AuthFailureThrottle {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Options {
    uint32_t max_failures = 5;                 // failures per window before refusing
    std::chrono::steady_clock::duration window = std::chrono::minutes(1);
    size_t max_entries = 4096;                 // addresses remembered at most
  };

  explicit AuthFailureThrottle(Options options, Clock clock = [] { return std::chrono::steady_clock::now(); });

  // False while `address` has used up its failures for the current window.
  bool allowed(std::string_view address);
  // Counts one authentication failure from `address`.
  void record_failure(std::string_view address);
  // Failures counted for `address` in its current window (0 when none/expired).
  uint32_t failures(std::string_view address);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::chrono::steady_clock::time_point window_start;
    uint32_t failures = 0;
  };
  bool expired(const Entry& e, std::chrono::steady_clock::time_point now) const;
  void make_room(std::chrono::steady_clock::time_point now);

  Options options_;
  Clock clock_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace scsipub::iscsi
