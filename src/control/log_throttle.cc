#include "control/log_throttle.h"

#include <algorithm>

namespace scsipub::control {
namespace {

// Target names come off the wire; cap each part so one key stays small even
// when a stranger sends the longest name the PDU allows.
constexpr size_t kMaxKeyPart = 255;

std::string make_key(std::string_view ip, std::string_view target) {
  ip = ip.substr(0, kMaxKeyPart);
  target = target.substr(0, kMaxKeyPart);
  std::string key;
  key.reserve(ip.size() + 1 + target.size());
  key.append(ip).push_back('\0');  // NUL cannot occur in either part
  key.append(target);
  return key;
}

}  // namespace

LogThrottle::LogThrottle(Options options) : options_(options) {
  options_.max_keys = std::max<size_t>(1, options_.max_keys);
}

void LogThrottle::expire(Clock::time_point now) {
  while (!order_.empty() && now - order_.front().last_seen >= options_.interval) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
}

LogThrottle::Decision LogThrottle::on_event(std::string_view initiator_ip, std::string_view target,
                                            Clock::time_point now) {
  const std::string key = make_key(initiator_ip, target);
  if (auto it = index_.find(key); it != index_.end()) {
    Entry& e = *it->second;
    // Most recently seen goes last, keeping order_ sorted by last_seen.
    order_.splice(order_.end(), order_, it->second);
    e.last_seen = now;
    expire(now);
    if (now - e.last_warn < options_.interval) {
      ++e.suppressed;
      return {false, 0};
    }
    Decision d{true, e.suppressed};
    e.last_warn = now;
    e.suppressed = 0;
    return d;
  }
  expire(now);
  if (index_.size() >= options_.max_keys) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
  order_.push_back(Entry{key, now, now, 0});
  auto last = std::prev(order_.end());
  index_.emplace(last->key, last);
  return {true, 0};
}

}  // namespace scsipub::control
