#pragma once
// SCSI-3 persistent reservations (SPC-4 5.9, 6.15, 6.16) and the SCSI-2
// RESERVE/RELEASE they interact with (SPC-2 7.21/7.24, SPC-4 5.9.3), as a
// pure value: no I/O, no locking, no knowledge of sessions. The logical unit
// owns one, serialises calls to it, persists state() after every PR OUT that
// reports state_changed, and delivers the unit attentions and aborts that a
// result lists.
//
// Choices (reported by REPORT CAPABILITIES):
// - SPEC_I_PT and ALL_TG_PT are refused (SIP_C = ATP_C = 0) with INVALID
//   FIELD IN PARAMETER LIST.
// - APTPL is accepted (PTPL_C = 1); PTPL_A is the APTPL bit of the last
//   successful REGISTER-family command.
// - REGISTER AND MOVE is implemented for iSCSI TransportIDs of format 01b
//   (initiator port); the device has one target port, relative port 1.
// - CRH = 1: RESERVE/RELEASE follow the SPC-4 5.9.3 exceptions.
// - Only LU_SCOPE.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "lu/nexus.h"
#include "lu/reservation_access.h"
#include "lu/unit_attention.h"
#include "scsi/pr_out_params.h"
#include "scsi/sense.h"

namespace scsipub::scsi {

// An I_T nexus as PR sees it: the initiator port name
// "<InitiatorName>,i,0x<ISID>" (see iscsi_initiator_port) and the target port
// name "<TargetName>,t,0x<TPGT>".
struct PrNexus {
  std::string initiator_port;
  std::string target_port;
  friend bool operator==(const PrNexus&, const PrNexus&) = default;
};

// Who a command comes from, matched against stored port names without
// building a string: the reservation check runs before every command while a
// reservation is held (a cluster holds one all the time). Built from stored
// names, or from the session's nexus, whose names it spells the way
// pr_nexus() does (lu::initiator_port_name, "<TargetName>,t,0x<TPGT>").
class PrNexusRef {
 public:
  PrNexusRef(const PrNexus& n) : stored_(&n) {}  // NOLINT(google-explicit-constructor): a PrNexus is one
  explicit PrNexusRef(const lu::Nexus& n);
  bool matches(const PrNexus& stored) const;

 private:
  const PrNexus* stored_ = nullptr;
  const lu::Nexus* nexus_ = nullptr;
  std::array<char, 12> isid_hex_{};
  std::array<char, 4> tpgt_hex_{};
};

struct PrRegistration {
  PrNexus nexus;
  uint64_t key = 0;  // never 0: a zero key is no registration
  bool aptpl = false;  // equals PrStateValue::aptpl (kept per row for the db schema)
  friend bool operator==(const PrRegistration&, const PrRegistration&) = default;
};

// SPC-4 table 212: the TYPE field.
enum class PrType : uint8_t {
  write_exclusive = 1,
  exclusive_access = 3,
  write_exclusive_registrants_only = 5,
  exclusive_access_registrants_only = 6,
  write_exclusive_all_registrants = 7,
  exclusive_access_all_registrants = 8,
};

inline constexpr uint8_t kPrScopeLu = 0;  // LU_SCOPE, the only one we support

// What is persisted. `holder` indexes `registrations`; for the all-registrants
// types it is the registration that made the reservation (or the oldest
// remaining one), though every registrant holds it.
struct PrStateValue {
  uint32_t generation = 0;
  std::vector<PrRegistration> registrations;
  std::optional<uint32_t> holder;
  uint8_t type = 0;
  uint8_t scope = 0;
  bool aptpl = false;  // PTPL_A: the last valid APTPL bit; every registration carries it too
  friend bool operator==(const PrStateValue&, const PrStateValue&) = default;
};

// A unit attention for the nexuses of one initiator port: RESERVATIONS
// PREEMPTED / RELEASED or REGISTRATIONS PREEMPTED (SPC-4 5.9.11).
struct PrUnitAttention {
  std::string initiator_port;
  std::string target_port;
  lu::UnitAttention condition = lu::UnitAttention::reservations_released;
  friend bool operator==(const PrUnitAttention&, const PrUnitAttention&) = default;
};

enum class PrStatus : uint8_t { good, reservation_conflict, check_condition };

// CHECK CONDITION sense: key/ASC/ASCQ and the field pointer, if any.
struct PrSense {
  SenseCode code;
  SenseDetail detail;
};

struct PrOutResult {
  PrStatus status = PrStatus::good;
  PrSense sense;  // with check_condition
  bool state_changed = false;  // persist state() before reporting GOOD
  std::vector<PrUnitAttention> unit_attentions;
  std::vector<PrNexus> abort_tasks_of;  // PREEMPT AND ABORT: abort these nexuses' tasks
};

class PersistentReservations {
 public:
  // A state loaded from storage is sanitised: zero keys and duplicate nexuses
  // are dropped, and a holder that is out of range or a reservation of an
  // unknown type or scope is forgotten.
  explicit PersistentReservations(PrStateValue initial = {});

  const PrStateValue& state() const { return state_; }

  // PERSISTENT RESERVE IN (SPC-4 6.15): READ KEYS (0), READ RESERVATION (1),
  // REPORT CAPABILITIES (2), READ FULL STATUS (3). The whole parameter data;
  // the caller truncates it to the ALLOCATION LENGTH. Other service actions:
  // INVALID FIELD IN CDB.
  Result<std::vector<uint8_t>, PrSense> in(uint8_t service_action, const PrNexus& who) const;

  // PERSISTENT RESERVE OUT (SPC-4 6.16). `cdb` is the 10-byte CDB (service
  // action, scope/type, PARAMETER LIST LENGTH); `params` is the data-out.
  PrOutResult out(std::span<const uint8_t> cdb, std::span<const uint8_t> params, const PrNexus& who);

  // RESERVATION CONFLICT for a command of this access from `who`? Ask
  // before running any command on the LU; the access is the command's
  // opcode-table row resolved for its CDB (scsi::reservation_access).
  // PrAccess::own_rules and Scsi2Access::own_rules pass here: out(),
  // reserve() and release() apply their own rules.
  bool conflicts(lu::ReservationAccess access, PrNexusRef who) const;

  // SCSI-2 RESERVE(6)/(10) and RELEASE(6)/(10) with the SPC-4 5.9.3
  // exceptions. Not persisted. Results carry no state change for the caller
  // to save.
  PrOutResult reserve(std::span<const uint8_t> cdb, const PrNexus& who);
  PrOutResult release(std::span<const uint8_t> cdb, const PrNexus& who);
  const std::optional<PrNexus>& scsi2_holder() const { return scsi2_holder_; }

  // LOGICAL UNIT RESET (and hard reset): releases the SCSI-2 reservation
  // (SPC-2 5.5.1); persistent reservations and registrations survive.
  void reset() { scsi2_holder_.reset(); }
  // I_T nexus loss: releases the SCSI-2 reservation if `who` holds it.
  void nexus_lost(const PrNexus& who);

  // Helpers, public for the logical unit and tests.
  bool is_registered(PrNexusRef who) const { return find(who) != nullptr; }
  bool is_holder(PrNexusRef who) const;
  bool reserved() const { return state_.holder.has_value(); }

 private:
  const PrRegistration* find(PrNexusRef who) const;
  std::optional<uint32_t> index_of(const PrNexus& who) const;
  bool all_registrants() const;
  // SPC-4 5.9.3: RESERVE/RELEASE complete GOOD without effect for the PR
  // holder, and for a registrant under a registrants-only or all-registrants
  // reservation.
  bool crh_exempt(const PrNexus& who) const;
  void ua_to_registrants(PrOutResult& r, const PrNexus& except, lu::UnitAttention condition) const;

  PrOutResult do_register(const PrOutBasicParams& p, const PrNexus& who, bool ignore_key);
  PrOutResult do_reserve(const PrOutBasicParams& p, uint8_t scope, uint8_t type, const PrNexus& who);
  PrOutResult do_release(const PrOutBasicParams& p, uint8_t scope, uint8_t type, const PrNexus& who);
  PrOutResult do_clear(const PrOutBasicParams& p, const PrNexus& who);
  PrOutResult do_preempt(const PrOutBasicParams& p, uint8_t scope, uint8_t type, const PrNexus& who,
                         bool abort);
  PrOutResult do_move(std::span<const uint8_t> list, const PrNexus& who);

  // Removes the registrations for which `drop` is true, keeping `holder`
  // pointing at the same registration (or at none). Returns the nexuses
  // removed.
  template <class Pred>
  std::vector<PrNexus> remove_registrations(Pred drop);
  void unregister(const PrNexus& who, PrOutResult& r);
  void set_aptpl(bool aptpl);
  void bump_generation(PrOutResult& r) {
    ++state_.generation;  // SPC-4 6.15.2: a 32-bit wrapping counter
    r.state_changed = true;
  }
  void release_reservation() {
    state_.holder.reset();
    state_.type = 0;
    state_.scope = 0;
  }

  PrStateValue state_;
  std::optional<PrNexus> scsi2_holder_;  // SCSI-2 RESERVE; lost on reset
};

}  // namespace scsipub::scsi
