#pragma once
// The bookkeeping of the leases one node holds, as plain values: which leases
// to renew now, until when each may be served, and which are lost. No clock
// of its own and no database: the fleet keeper passes the steady-clock time
// at which it sent each request and the answer it got, so every rule here is
// tested with exact times.
//
// The local deadline of a lease is the time its last successful grant or
// renewal was *sent*, plus the lease length, minus a safety margin. The
// database set the expiry to (its clock at the statement) + lease, and the
// statement ran after the request was sent, so the local deadline comes
// before the expiry any other node can observe, even if the answer took long
// to come back. The margin covers a difference in clock rates and the time
// it takes to stop serving.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace scsipub::control {

struct LeaseTiming {
  std::chrono::milliseconds lease{10000};        // as requested from the database
  std::chrono::milliseconds renew_every{1000};   // how long after a renewal the next one is sent
  std::chrono::milliseconds margin{1000};        // subtracted from every local deadline
};

// The renewals due must fit before the deadline with time to spare.
Status validate(const LeaseTiming& timing);

class LeaseKeeper {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  struct Held {
    std::string disk_id;
    int64_t epoch = 0;
    SteadyTime sent{};      // of the grant or renewal that set `deadline`
    SteadyTime deadline{};  // serve strictly before this instant

    bool operator==(const Held&) const = default;
  };

  struct Renewal {
    std::string disk_id;
    int64_t epoch = 0;

    bool operator==(const Renewal&) const = default;
  };

  explicit LeaseKeeper(LeaseTiming timing) : timing_(timing) {}

  // A grant sent at `sent` was accepted. Replaces whatever was held for the
  // disk. Returns the local deadline.
  SteadyTime granted(std::string_view disk_id, int64_t epoch, SteadyTime sent);
  // A renewal sent at `sent` was accepted: the deadline moves to sent + lease
  // - margin (never backwards). nullopt when (disk, epoch) is no longer held
  // here (it was reported lost meanwhile): the caller gives the lease back.
  std::optional<SteadyTime> renewed(std::string_view disk_id, int64_t epoch, SteadyTime sent);
  // The database refused a renewal: the lease belongs to someone else or has
  // expired. It is lost now, whatever its local deadline said.
  void refused(std::string_view disk_id, int64_t epoch);
  // A failed call (database unreachable) changes nothing: the renewal stays
  // due and the deadline keeps approaching.

  // Leases whose renewal is due at `now`: one renew_every after the last
  // accepted grant or renewal was sent. Ordered by disk id.
  std::vector<Renewal> due(SteadyTime now) const;
  // Removes and returns the leases lost at `now`: refused, or deadline
  // reached (now >= deadline). Ordered by disk id.
  std::vector<Held> take_lost(SteadyTime now);
  // Forgets a lease given up on purpose. nullopt if it was not held.
  std::optional<Held> release(std::string_view disk_id);

  // Held and within its deadline at `now`.
  bool holds(std::string_view disk_id, SteadyTime now) const;
  std::optional<Held> find(std::string_view disk_id) const;
  std::vector<Held> held() const;  // ordered by disk id
  const LeaseTiming& timing() const { return timing_; }

 private:
  struct Entry {
    Held lease;
    bool refused = false;
  };
  SteadyTime deadline_for(SteadyTime sent) const { return sent + timing_.lease - timing_.margin; }

  LeaseTiming timing_;
  std::map<std::string, Entry, std::less<>> leases_;
};

}  // namespace scsipub::control
