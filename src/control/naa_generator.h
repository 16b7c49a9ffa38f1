#pragma once
// NAA identifiers (SPC-4 7.8.6.6, VPD page 83h) for the free tier's
// short-lived logical units: unique per LU within the process (a counter)
// and unrelated across processes (a seed drawn once at start), so an
// initiator's multipath layer never takes two sessions' private disks for
// one device. Provisioned disks derive theirs from the disk id instead
// (provisioned_identity), stable across restarts.
#include <atomic>
#include <cstdint>

namespace scsipub::control {

class NaaGenerator {
 public:
  explicit NaaGenerator(uint64_t seed);
  // An NAA IEEE Registered identifier (type 5); thread-safe.
  uint64_t next();

 private:
  uint64_t seed_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace scsipub::control
