#pragma once
// Decides the log level of a repeating event keyed by (initiator IP, target
// name): a stale initiator retries a deleted target every few seconds forever,
// and 17,000 identical warnings a day would bury the real ones. The first event
// of a key warns, then at most one warning per interval; the rest are debug.
//
// Memory is bounded: keys quiet for a whole interval are forgotten (their next
// event would warn anyway), and when the table is full the least recently seen
// key is dropped. Not thread-safe; the caller owns one per thread or locks.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace scsipub::control {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::chrono::seconds interval{300};
    size_t max_keys = 4096;
  };

  struct Decision {
    bool warn = false;
    // When warning: events of this key logged at debug since its last warning,
    // so the warning can say "(N more suppressed)".
    uint64_t suppressed = 0;
  };

  LogThrottle() : LogThrottle(Options{}) {}
  explicit LogThrottle(Options options);

  // `now` is a parameter so tests drive a fake clock.
  Decision on_event(std::string_view initiator_ip, std::string_view target, Clock::time_point now);

  size_t size() const { return index_.size(); }

 private:
  struct Entry {
    std::string key;
    Clock::time_point last_warn;
    Clock::time_point last_seen;
    uint64_t suppressed = 0;
  };
  using Order = std::list<Entry>;  // least recently seen first

  void expire(Clock::time_point now);

  Options options_;
  Order order_;
  std::unordered_map<std::string_view, Order::iterator> index_;  // views into order_ keys
};

}  // namespace scsipub::control
