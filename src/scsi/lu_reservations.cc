#include "scsi/lu_reservations.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace scsipub::scsi {

PrNexus pr_nexus(const lu::Nexus& nexus) {
  return {lu::initiator_port_name(nexus), fmt::format("{},t,0x{:04x}", nexus.target_name, nexus.target_portal_group)};
}

LuReservations::LuReservations(PrStateValue initial, PrPersist persist)
    : pr_(std::move(initial)), persist_(std::move(persist)), published_(pr_) {
  publish_locked();
}

void LuReservations::publish_locked() {
  published_.publish(pr_);
  active_.store(pr_.reserved() || pr_.scsi2_holder().has_value(), std::memory_order_release);
}

bool LuReservations::conflicts(lu::ReservationAccess access, const lu::Nexus& nexus) const {
  if (!active_.load(std::memory_order_acquire)) return false;
  return published_.read(
      [&](const PersistentReservations& pr) { return pr.conflicts(access, PrNexusRef(nexus)); });
}

Result<std::vector<uint8_t>, PrSense> LuReservations::in(uint8_t service_action, const lu::Nexus& nexus) const {
  PrNexus who = pr_nexus(nexus);
  std::lock_guard lock(mu_);
  return pr_.in(service_action, who);
}

PrOutResult LuReservations::out(std::span<const uint8_t> cdb, std::span<const uint8_t> params,
                                const lu::Nexus& nexus, lu::LogicalUnit& unit) {
  PrNexus who = pr_nexus(nexus);
  PrOutResult r;
  {
    std::lock_guard lock(mu_);
    PersistentReservations next = pr_;
    r = next.out(cdb, params, who);
    if (r.status == PrStatus::good && r.state_changed && persist_) {
      if (Status s = persist_(next.state()); !s) {
        // The old state stays; the initiator learns the command did nothing.
        spdlog::error("persistent reservation not stored, command failed: {}", s.error().message);
        PrOutResult failed;
        failed.status = PrStatus::check_condition;
        failed.sense.code = sense_code(SenseReason::internal_target_failure);
        return failed;
      }
    }
    if (r.status == PrStatus::good) pr_ = std::move(next);
    publish_locked();
  }
  for (const auto& ua : r.unit_attentions) {
    unit.raise_unit_attention_to_port(ua.initiator_port, ua.condition);
  }
  // SPC-4 5.9.11.5: PREEMPT AND ABORT aborts the preempted nexuses' tasks
  // before it completes. Our Control mode page says TAS=0, so they end
  // without status (SAM-5 5.6); the iSCSI layer drops them (LogicalUnit::
  // abort_tasks_of_port says how).
  for (const auto& n : r.abort_tasks_of) unit.abort_tasks_of_port(n.initiator_port);
  return r;
}

PrOutResult LuReservations::reserve(std::span<const uint8_t> cdb, const lu::Nexus& nexus) {
  PrNexus who = pr_nexus(nexus);
  std::lock_guard lock(mu_);
  PrOutResult r = pr_.reserve(cdb, who);
  publish_locked();
  return r;
}

PrOutResult LuReservations::release(std::span<const uint8_t> cdb, const lu::Nexus& nexus) {
  PrNexus who = pr_nexus(nexus);
  std::lock_guard lock(mu_);
  PrOutResult r = pr_.release(cdb, who);
  publish_locked();
  return r;
}

PrStateValue LuReservations::state() const {
  std::lock_guard lock(mu_);
  return pr_.state();
}

// Both only ever drop a SCSI-2 reservation: publish only when one was held,
// not on every logout.
void LuReservations::on_logical_unit_reset() {
  std::lock_guard lock(mu_);
  if (!pr_.scsi2_holder()) return;
  pr_.reset();
  publish_locked();
}

void LuReservations::on_nexus_lost(const lu::Nexus& nexus) {
  PrNexus who = pr_nexus(nexus);
  std::lock_guard lock(mu_);
  if (!pr_.scsi2_holder()) return;
  pr_.nexus_lost(who);
  publish_locked();
}

LuReservations* reservations_of(lu::LogicalUnit& unit) { return dynamic_cast<LuReservations*>(unit.extension()); }

}  // namespace scsipub::scsi
