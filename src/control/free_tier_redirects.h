#pragma once
// Where this node sent each free-tier login it redirected, so that the same
// initiator reconnecting here (an initiator always returns to the portal it
// was configured with, not to the one it was redirected to: a 01/01 redirect
// is temporary, RFC 7143 11.13.5) is sent to the same node again, where
// its session's disk is live or kept after the dropped connection
// (FreeTierBinder). Keyed exactly as that disk is kept (ReinstateKey:
// InitiatorName + ISID, target, peer address), so only the initiator that
// owns the disk is steered to it.
//
// Bounded: at most `max_entries` (a new one evicts the oldest) and each for
// `remember` after its redirect. Not thread-safe: TargetDirectory guards it.
#include <chrono>
#include <cstddef>
#include <list>
#include <map>
#include <optional>
#include <string>

#include "control/clock.h"
#include "control/retained_disks.h"

namespace scsipub::control {

struct FreeRedirectMemoryLimits {
  // Initiators remembered at once; 0 remembers none.
  size_t max_entries = 8192;
  // How long after its last redirect an initiator is remembered: the entry
  // node cannot see the session end on the other node, so this covers the
  // session's lifetime plus the other node's retain period.
  std::chrono::seconds remember{std::chrono::hours(24)};
};

class FreeTierRedirects {
 public:
  explicit FreeTierRedirects(FreeRedirectMemoryLimits limits) : limits_(limits) {}

  // Remembers that `key`'s login was sent to `node_id` at `now` (a later
  // redirect of the same key replaces it and restarts its period). Returns
  // how many other entries were evicted to stay within max_entries (0 or 1).
  size_t remember(const ReinstateKey& key, std::string node_id, Clock::SteadyTime now);
  // The node `key` was last sent to, unless its period is over.
  std::optional<std::string> node_for(const ReinstateKey& key, Clock::SteadyTime now);
  // The login was served here after all: the other node no longer matters.
  void forget(const ReinstateKey& key);
  size_t size() const { return by_key_.size(); }

 private:
  // Keys point into by_key_ (map nodes do not move).
  using Order = std::list<const ReinstateKey*>;
  struct Entry {
    std::string node_id;
    Clock::SteadyTime at;
    Order::iterator position;  // in oldest_first_
  };
  // Drops entries whose period is over; costs only what it drops (the
  // order is by redirect time, and the period is the same for all).
  void expire(Clock::SteadyTime now);

  const FreeRedirectMemoryLimits limits_;
  std::map<ReinstateKey, Entry> by_key_;
  Order oldest_first_;  // by the time of the last redirect
};

}  // namespace scsipub::control
