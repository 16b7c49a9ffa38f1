#pragma once
// Free-tier disks whose session ended without a Logout, kept for a grace
// period so that the initiator reinstating the session after a network blip
// (RFC 7143 6.3.5: same InitiatorName + ISID, TSIH 0) finds the contents its
// page cache and filesystem still believe in. Keyed by the nexus and the
// address it came from: another ISID or another address never gets them.
// Not thread-safe: FreeTierBinder guards it with its own mutex.
#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/clock.h"
#include "scsi/lun_map.h"
#include "storage/cow_overlay.h"

namespace scsipub::control {

// Who may take a retained disk back: the I_T nexus (initiator port = name +
// ISID, target) and the peer address, not just its group, so a neighbour in
// the same /64 cannot pick up someone else's disk by guessing an ISID.
struct ReinstateKey {
  std::string initiator_name;
  std::array<uint8_t, 6> isid{};
  std::string target_name;
  std::string peer_address;
  auto operator<=>(const ReinstateKey&) const = default;
};

// What a free-tier session holds: its logical units (identity included, so
// the kernel sees the same disk), the overlays under them, the overlay id the
// files are named by, and the budget reservation.
struct SessionDisks {
  std::string id;
  std::string group;      // the address group the reservation is held against
  uint64_t reserved = 0;  // overlay bytes held against `group` and the total
  scsi::LunMap luns;
  std::vector<std::shared_ptr<const storage::CowOverlay>> overlays;
};

// Bytes a session's overlays hold against their write limits (a LUN without
// one is bounded by its size).
struct OverlayUsage {
  uint64_t bytes = 0;  // written, counted against the write limits
  uint64_t limit = 0;  // the write limits (a LUN's size where it has none)
};
OverlayUsage usage_of(const SessionDisks& disks);

// What the operator sees of a kept disk: whose it is, what it holds, and
// when it goes.
struct RetainedDiskView {
  ReinstateKey key;
  OverlayUsage usage;
  Clock::SteadyTime deadline;
};

class RetainedDisks {
 public:
  // Keeps `disks` until `deadline`. A disk already kept under `key` (which a
  // login would have taken first) is returned for the caller to delete.
  std::optional<SessionDisks> put(ReinstateKey key, SessionDisks disks, Clock::SteadyTime deadline);
  // Hands the disks kept under `key` over, at most once.
  std::optional<SessionDisks> take(const ReinstateKey& key);
  bool contains(const ReinstateKey& key) const { return by_key_.contains(key); }
  // Removes and returns every entry whose deadline is not after `now`; costs
  // only what it returns.
  std::vector<SessionDisks> take_expired(Clock::SteadyTime now);
  std::vector<SessionDisks> take_all();
  size_t size() const { return by_key_.size(); }
  // Every kept disk, the one whose grace period ends first first.
  std::vector<RetainedDiskView> list() const;

 private:
  using Deadlines = std::multimap<Clock::SteadyTime, ReinstateKey>;
  struct Entry {
    SessionDisks disks;
    Deadlines::iterator deadline;
  };
  std::map<ReinstateKey, Entry> by_key_;
  Deadlines by_deadline_;  // so expiry looks only at what expired
};

}  // namespace scsipub::control
