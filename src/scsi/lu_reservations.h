#pragma once
// Persistent reservations at run time: one PersistentReservations value per
// logical unit, shared by every session attached to it. PR commands take a
// mutex, one at a time: a PR OUT is applied to a copy, the copy's state is
// made durable through the persistence hook, and only then does it become the
// LU's state and the command report GOOD (SPC-4 5.9 + our promise: state is
// committed before status). Each new state is also published as an immutable
// snapshot (common/snapshot_cell.h) that the per-command conflict check reads
// without a lock and without building a string, so neither a held
// reservation nor a PR OUT waiting on its database commit holds up the LU's
// other commands.
#include <atomic>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "common/result.h"
#include "common/snapshot_cell.h"
#include "lu/logical_unit.h"
#include "scsi/persistent_reservations.h"

namespace scsipub::scsi {

// Makes a new state durable; an error fails the PR OUT and keeps the old state.
using PrPersist = std::function<Status(const PrStateValue&)>;

// The nexus as PR names it: initiator port name and "<TargetName>,t,0x<TPGT>".
PrNexus pr_nexus(const lu::Nexus& nexus);

class LuReservations final : public lu::LuExtension {
 public:
  // `persist` empty: state lives in memory only (free tier).
  explicit LuReservations(PrStateValue initial = {}, PrPersist persist = {});

  // RESERVATION CONFLICT for a command of this access?
  bool conflicts(lu::ReservationAccess access, const lu::Nexus& nexus) const override;

  Result<std::vector<uint8_t>, PrSense> in(uint8_t service_action, const lu::Nexus& nexus) const;
  // Applies, persists, delivers unit attentions to the other nexuses of `unit`.
  PrOutResult out(std::span<const uint8_t> cdb, std::span<const uint8_t> params, const lu::Nexus& nexus,
                  lu::LogicalUnit& unit);
  PrOutResult reserve(std::span<const uint8_t> cdb, const lu::Nexus& nexus);
  PrOutResult release(std::span<const uint8_t> cdb, const lu::Nexus& nexus);

  PrStateValue state() const;

  void on_logical_unit_reset() override;
  void on_nexus_lost(const lu::Nexus& nexus) override;

 private:
  // After every change of pr_, under mu_: publishes it for conflicts().
  void publish_locked();

  mutable std::mutex mu_;
  PersistentReservations pr_;  // guarded by mu_
  PrPersist persist_;
  SnapshotCell<PersistentReservations> published_;  // pr_ as of its last change
  std::atomic<bool> active_{false};  // a persistent or SCSI-2 reservation exists
};

// The LU's reservations, or nullptr for an LU built without them.
LuReservations* reservations_of(lu::LogicalUnit& unit);

}  // namespace scsipub::scsi
