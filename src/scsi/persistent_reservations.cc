#include "scsi/persistent_reservations.h"

#include <algorithm>
#include <utility>

#include "common/bytes.h"

namespace scsipub::scsi {

namespace {

// The device has a single SCSI target port (VPD page 83h reports relative
// target port 1), so REGISTER AND MOVE can only name that one.
constexpr uint16_t kRelativeTargetPort = 1;

namespace sa_out {
constexpr uint8_t kRegister = 0;
constexpr uint8_t kReserve = 1;
constexpr uint8_t kRelease = 2;
constexpr uint8_t kClear = 3;
constexpr uint8_t kPreempt = 4;
constexpr uint8_t kPreemptAndAbort = 5;
constexpr uint8_t kRegisterAndIgnore = 6;
constexpr uint8_t kRegisterAndMove = 7;
}  // namespace sa_out

bool valid_type(uint8_t t) { return t == 1 || t == 3 || (t >= 5 && t <= 8); }
bool all_registrants_type(uint8_t t) { return t == 7 || t == 8; }
bool registrants_only_type(uint8_t t) { return t == 5 || t == 6; }
bool write_exclusive_type(uint8_t t) { return t == 1 || t == 5 || t == 7; }

PrOutResult good() { return {}; }

PrOutResult conflict() {
  PrOutResult r;
  r.status = PrStatus::reservation_conflict;
  return r;
}

PrOutResult check(const SenseCode& code, std::optional<FieldPointer> field = std::nullopt) {
  PrOutResult r;
  r.status = PrStatus::check_condition;
  r.sense.code = code;
  r.sense.detail.field = field;
  return r;
}

PrOutResult invalid_cdb(uint16_t byte, int8_t bit) {
  return check(sense_code(SenseReason::invalid_field_in_cdb), FieldPointer{true, byte, bit});
}

PrOutResult invalid_param(uint16_t byte, int8_t bit = -1) {
  return check(sense_code(SenseReason::invalid_field_in_parameter_list), FieldPointer{false, byte, bit});
}

// The field pointer only means something with INVALID FIELD IN PARAMETER LIST.
PrOutResult from(const PrParamError& e) {
  if (e.reason != SenseReason::invalid_field_in_parameter_list) return check(sense_code(e.reason));
  return check(sense_code(e.reason), e.field);
}

}  // namespace

namespace {

template <size_t N>
void hex_digits(std::array<char, N>& out, uint64_t value) {
  constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = N; i-- > 0; value >>= 4) out[i] = kDigits[value & 0xf];
}

// `stored` == head + infix + digits, compared piecewise.
bool spelled_as(std::string_view stored, std::string_view head, std::string_view infix, std::string_view digits) {
  if (stored.size() != head.size() + infix.size() + digits.size()) return false;
  return stored.substr(0, head.size()) == head && stored.substr(head.size(), infix.size()) == infix &&
         stored.substr(head.size() + infix.size()) == digits;
}

}  // namespace

PrNexusRef::PrNexusRef(const lu::Nexus& n) : nexus_(&n) {
  uint64_t isid = 0;
  for (uint8_t b : n.isid) isid = (isid << 8) | b;
  hex_digits(isid_hex_, isid);
  hex_digits(tpgt_hex_, n.target_portal_group);
}

bool PrNexusRef::matches(const PrNexus& stored) const {
  if (stored_ != nullptr) return *stored_ == stored;
  return spelled_as(stored.initiator_port, nexus_->initiator_name, ",i,0x",
                    std::string_view(isid_hex_.data(), isid_hex_.size())) &&
         spelled_as(stored.target_port, nexus_->target_name, ",t,0x",
                    std::string_view(tpgt_hex_.data(), tpgt_hex_.size()));
}

PersistentReservations::PersistentReservations(PrStateValue initial) : state_(std::move(initial)) {
  std::optional<PrNexus> holder;
  if (state_.holder && *state_.holder < state_.registrations.size())
    holder = state_.registrations[*state_.holder].nexus;
  std::vector<PrRegistration> kept;
  for (auto& reg : state_.registrations) {
    if (reg.key == 0) continue;
    if (std::any_of(kept.begin(), kept.end(), [&](const PrRegistration& k) { return k.nexus == reg.nexus; }))
      continue;
    kept.push_back(std::move(reg));
  }
  state_.registrations = std::move(kept);
  state_.holder = holder ? index_of(*holder) : std::nullopt;
  if (!state_.holder || !valid_type(state_.type) || state_.scope != kPrScopeLu) release_reservation();
}

const PrRegistration* PersistentReservations::find(PrNexusRef who) const {
  for (const auto& reg : state_.registrations)
    if (who.matches(reg.nexus)) return &reg;
  return nullptr;
}

std::optional<uint32_t> PersistentReservations::index_of(const PrNexus& who) const {
  for (size_t i = 0; i < state_.registrations.size(); ++i)
    if (state_.registrations[i].nexus == who) return uint32_t(i);
  return std::nullopt;
}

bool PersistentReservations::all_registrants() const { return reserved() && all_registrants_type(state_.type); }

bool PersistentReservations::is_holder(PrNexusRef who) const {
  if (!reserved()) return false;
  // SPC-4 5.9.10: under the all-registrants types every registrant holds it.
  if (all_registrants_type(state_.type)) return is_registered(who);
  return who.matches(state_.registrations[*state_.holder].nexus);
}

bool PersistentReservations::crh_exempt(const PrNexus& who) const {
  if (is_holder(who)) return true;
  return reserved() && registrants_only_type(state_.type) && is_registered(who);
}

void PersistentReservations::ua_to_registrants(PrOutResult& r, const PrNexus& except,
                                               lu::UnitAttention condition) const {
  for (const auto& reg : state_.registrations)
    if (reg.nexus != except)
      r.unit_attentions.push_back({reg.nexus.initiator_port, reg.nexus.target_port, condition});
}

// SPC-4 5.9.5: the most recent valid APTPL value governs every registration,
// so the per-registration flags always agree with PTPL_A.
void PersistentReservations::set_aptpl(bool aptpl) {
  state_.aptpl = aptpl;
  for (auto& reg : state_.registrations) reg.aptpl = aptpl;
}

void PersistentReservations::nexus_lost(const PrNexus& who) {
  if (scsi2_holder_ && *scsi2_holder_ == who) scsi2_holder_.reset();
}

template <class Pred>
std::vector<PrNexus> PersistentReservations::remove_registrations(Pred drop) {
  std::optional<PrNexus> holder;
  if (state_.holder) holder = state_.registrations[*state_.holder].nexus;
  std::vector<PrNexus> removed;
  std::vector<PrRegistration> kept;
  for (auto& reg : state_.registrations) {
    if (drop(reg))
      removed.push_back(reg.nexus);
    else
      kept.push_back(std::move(reg));
  }
  state_.registrations = std::move(kept);
  if (holder) {
    state_.holder = index_of(*holder);
    // The all-registrants reservation lives on while anyone is registered;
    // the holder index just follows the oldest remaining registrant.
    if (!state_.holder && all_registrants_type(state_.type) && !state_.registrations.empty())
      state_.holder = 0;
    if (!state_.holder) release_reservation();
  }
  return removed;
}

// SPC-4 5.9.11.2: unregistering the holder releases a reservation that is not
// of an all-registrants type; a registrants-only one tells the others.
void PersistentReservations::unregister(const PrNexus& who, PrOutResult& r) {
  const bool released = is_holder(who) && !all_registrants();
  const uint8_t type = state_.type;
  remove_registrations([&](const PrRegistration& reg) { return reg.nexus == who; });
  if (released && registrants_only_type(type)) ua_to_registrants(r, who, lu::ua::kReservationsReleased);
}

// --- PERSISTENT RESERVE IN ---------------------------------------------------

Result<std::vector<uint8_t>, PrSense> PersistentReservations::in(uint8_t service_action,
                                                                 const PrNexus& /*who*/) const {
  const auto& s = state_;
  std::vector<uint8_t> out;
  switch (service_action) {
    case 0: {  // SPC-4 6.15.2 READ KEYS
      out.assign(8 + 8 * s.registrations.size(), 0);
      store_be32(&out[0], s.generation);
      store_be32(&out[4], uint32_t(8 * s.registrations.size()));
      for (size_t i = 0; i < s.registrations.size(); ++i) store_be64(&out[8 + 8 * i], s.registrations[i].key);
      return out;
    }
    case 1: {  // SPC-4 6.15.3 READ RESERVATION
      out.assign(reserved() ? 24 : 8, 0);
      store_be32(&out[0], s.generation);
      if (reserved()) {
        store_be32(&out[4], 16);
        // SPC-4 6.15.3.2: the all-registrants types report key zero.
        if (!all_registrants_type(s.type)) store_be64(&out[8], s.registrations[*s.holder].key);
        out[21] = uint8_t(s.scope << 4 | (s.type & 0x0F));
      }
      return out;
    }
    case 2: {  // SPC-4 6.15.4 REPORT CAPABILITIES
      out.assign(8, 0);
      store_be16(&out[0], 8);
      out[2] = 0x10 | 0x01;         // CRH, PTPL_C; not RLR_C, SIP_C, ATP_C
      out[3] = 0x80 | 0x30;         // TMV, ALLOW COMMANDS 011b (the opcode tables' reservation classes)
      if (s.aptpl) out[3] |= 0x01;  // PTPL_A
      out[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;  // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX
      out[5] = 0x01;                              // EX_AC_AR
      return out;
    }
    case 3: {  // SPC-4 6.15.5 READ FULL STATUS
      out.assign(8, 0);
      store_be32(&out[0], s.generation);
      for (size_t i = 0; i < s.registrations.size(); ++i) {
        const auto& reg = s.registrations[i];
        auto tid = encode_iscsi_transport_id(reg.nexus.initiator_port);
        const size_t at = out.size();
        out.resize(at + 24 + tid.size(), 0);
        uint8_t* d = &out[at];
        store_be64(d, reg.key);
        const bool holder = reserved() && (all_registrants_type(s.type) || *s.holder == i);
        if (holder) {
          d[12] = 0x01;  // R_HOLDER; ALL_TG_PT stays 0
          d[13] = uint8_t(s.scope << 4 | (s.type & 0x0F));
        }
        store_be16(d + 18, kRelativeTargetPort);
        store_be32(d + 20, uint32_t(tid.size()));
        std::copy(tid.begin(), tid.end(), d + 24);
      }
      store_be32(&out[4], uint32_t(out.size() - 8));
      return out;
    }
    default:
      return Unexpected<PrSense>{
          PrSense{sense_code(SenseReason::invalid_field_in_cdb), SenseDetail{{}, FieldPointer{true, 1, 4}}}};
  }
}

// --- PERSISTENT RESERVE OUT --------------------------------------------------

PrOutResult PersistentReservations::out(std::span<const uint8_t> cdb, std::span<const uint8_t> params,
                                        const PrNexus& who) {
  if (cdb.size() < 10) return invalid_cdb(0, -1);
  const uint8_t sa = cdb[1] & 0x1F;
  const uint8_t scope = cdb[2] >> 4;
  const uint8_t type = cdb[2] & 0x0F;
  const uint32_t length = load_be32(&cdb[5]);
  if (sa > sa_out::kRegisterAndMove) return invalid_cdb(1, 4);
  // Less data-out than the CDB announced: the list is short.
  if (params.size() < length) return check(sense_code(SenseReason::parameter_list_length_error));
  const auto list = params.first(length);
  if (sa == sa_out::kRegisterAndMove) return do_move(list, who);

  auto p = parse_pr_out_basic(list);
  if (!p) return from(p.error());
  // SPC-4 6.16.3: SPEC_I_PT is for REGISTER only, and we do not support it
  // there either (SIP_C = 0).
  if (p->spec_i_pt) return invalid_param(20, 3);
  // ALL_TG_PT matters only to the two register actions; unsupported (ATP_C = 0).
  if (p->all_tg_pt && (sa == sa_out::kRegister || sa == sa_out::kRegisterAndIgnore)) return invalid_param(20, 2);

  switch (sa) {
    case sa_out::kRegister:
      return do_register(*p, who, false);
    case sa_out::kRegisterAndIgnore:
      return do_register(*p, who, true);
    case sa_out::kReserve:
      return do_reserve(*p, scope, type, who);
    case sa_out::kRelease:
      return do_release(*p, scope, type, who);
    case sa_out::kClear:
      return do_clear(*p, who);
    case sa_out::kPreempt:
      return do_preempt(*p, scope, type, who, false);
    case sa_out::kPreemptAndAbort:
      return do_preempt(*p, scope, type, who, true);
    default:  // unreachable: sa <= 7 and REGISTER AND MOVE returned above
      return invalid_cdb(1, 4);
  }
}

// SPC-4 5.9.7: REGISTER / REGISTER AND IGNORE EXISTING KEY.
PrOutResult PersistentReservations::do_register(const PrOutBasicParams& p, const PrNexus& who, bool ignore_key) {
  auto index = index_of(who);
  if (!ignore_key) {
    // An unregistered nexus must send key 0; a registered one its own key.
    const uint64_t expected = index ? state_.registrations[*index].key : 0;
    if (p.reservation_key != expected) return conflict();
  }
  PrOutResult r;
  if (!index) {
    // Unregistered and asking for key 0: nothing to do.
    if (p.service_action_key == 0) return r;
    state_.registrations.push_back({who, p.service_action_key, p.aptpl});
  } else if (p.service_action_key == 0) {
    unregister(who, r);
  } else {
    // A new key; a held reservation stays with this nexus.
    state_.registrations[*index].key = p.service_action_key;
    state_.registrations[*index].aptpl = p.aptpl;
  }
  set_aptpl(p.aptpl);
  bump_generation(r);
  return r;
}

// SPC-4 5.9.10: RESERVE (the generation does not change).
PrOutResult PersistentReservations::do_reserve(const PrOutBasicParams& p, uint8_t scope, uint8_t type,
                                               const PrNexus& who) {
  auto index = index_of(who);
  if (!index || state_.registrations[*index].key != p.reservation_key) return conflict();
  if (scope != kPrScopeLu) return invalid_cdb(2, 7);
  if (!valid_type(type)) return invalid_cdb(2, 3);
  if (reserved()) {
    // The holder may repeat its reservation, not change it; others conflict.
    if (is_holder(who) && state_.type == type && state_.scope == scope) return good();
    return conflict();
  }
  state_.holder = *index;
  state_.type = type;
  state_.scope = scope;
  PrOutResult r;
  r.state_changed = true;
  return r;
}

// SPC-4 5.9.11.2: RELEASE.
PrOutResult PersistentReservations::do_release(const PrOutBasicParams& p, uint8_t scope, uint8_t type,
                                               const PrNexus& who) {
  auto reg = find(who);
  if (reg == nullptr || reg->key != p.reservation_key) return conflict();
  // Nothing to release, or not ours: GOOD, nothing changes.
  if (!is_holder(who)) return good();
  if (scope != state_.scope || type != state_.type) return check(sense_code(SenseReason::invalid_release_of_pr));
  const uint8_t old_type = state_.type;
  release_reservation();
  PrOutResult r;
  r.state_changed = true;
  if (old_type != uint8_t(PrType::write_exclusive) && old_type != uint8_t(PrType::exclusive_access))
    ua_to_registrants(r, who, lu::ua::kReservationsReleased);
  return r;
}

// SPC-4 5.9.11.6: CLEAR.
PrOutResult PersistentReservations::do_clear(const PrOutBasicParams& p, const PrNexus& who) {
  auto reg = find(who);
  if (reg == nullptr || reg->key != p.reservation_key) return conflict();
  PrOutResult r;
  ua_to_registrants(r, who, lu::ua::kReservationsPreempted);
  state_.registrations.clear();
  release_reservation();
  bump_generation(r);
  return r;
}

// SPC-4 5.9.11.4: PREEMPT and PREEMPT AND ABORT.
PrOutResult PersistentReservations::do_preempt(const PrOutBasicParams& p, uint8_t scope, uint8_t type,
                                               const PrNexus& who, bool abort) {
  auto reg = find(who);
  if (reg == nullptr || reg->key != p.reservation_key) return conflict();
  const uint64_t victim = p.service_action_key;
  const bool ar = all_registrants();

  // Does this preempt take over the reservation (and so create one)?
  const bool take_over =
      reserved() && ((ar && victim == 0) || (!ar && state_.registrations[*state_.holder].key == victim));
  // Key zero names nobody, except "everyone else" under all-registrants.
  if (victim == 0 && !take_over) return invalid_param(8);
  if (take_over) {
    if (scope != kPrScopeLu) return invalid_cdb(2, 7);
    if (!valid_type(type)) return invalid_cdb(2, 3);
  }
  auto victim_registered = [&] {
    return std::any_of(state_.registrations.begin(), state_.registrations.end(),
                       [&](const PrRegistration& x) { return x.key == victim; });
  };
  if (!take_over && !victim_registered()) return conflict();

  PrOutResult r;
  std::vector<PrNexus> removed;
  if (take_over) {
    const bool changed = state_.type != type || state_.scope != scope;
    // Every other nexus with the victim key (under all-registrants with key
    // 0: every other nexus) loses its registration; we hold the reservation.
    removed = remove_registrations([&](const PrRegistration& x) {
      return x.nexus != who && (victim == 0 || x.key == victim);
    });
    state_.holder = index_of(who);
    state_.type = type;
    state_.scope = scope;
    if (changed) {
      for (const auto& x : state_.registrations)
        if (x.nexus != who)
          r.unit_attentions.push_back({x.nexus.initiator_port, x.nexus.target_port, lu::ua::kReservationsReleased});
    }
  } else {
    // 5.9.11.4.4: just remove registrations (ours too, if it is our key);
    // the reservation, if any, is untouched.
    removed = remove_registrations([&](const PrRegistration& x) { return x.key == victim; });
  }
  for (const auto& n : removed) {
    if (n == who) continue;
    r.unit_attentions.push_back({n.initiator_port, n.target_port, lu::ua::kRegistrationsPreempted});
    if (abort) r.abort_tasks_of.push_back(n);
  }
  bump_generation(r);
  return r;
}

// SPC-4 5.9.9: REGISTER AND MOVE.
PrOutResult PersistentReservations::do_move(std::span<const uint8_t> list, const PrNexus& who) {
  auto p = parse_pr_out_move(list);
  if (!p) return from(p.error());
  auto reg = find(who);
  if (reg == nullptr || reg->key != p->reservation_key) return conflict();
  // Only the holder of a single-holder reservation has something to move.
  if (!reserved() || all_registrants() || !is_holder(who)) return conflict();
  if (p->service_action_key == 0) return invalid_param(8);
  // Format 00b names a device, not a port: no I_T nexus to move to.
  if (p->transport_id.format != 1) return invalid_param(24, 7);
  if (p->relative_target_port != kRelativeTargetPort) return invalid_param(18);
  PrNexus dest{p->transport_id.initiator_port(), who.target_port};
  if (dest == who) return invalid_param(24);

  // The destination gets the SA key, whether or not it was registered.
  auto dest_index = index_of(dest);
  if (!dest_index) {
    state_.registrations.push_back({dest, p->service_action_key, p->aptpl});
    dest_index = uint32_t(state_.registrations.size() - 1);
  } else {
    state_.registrations[*dest_index].key = p->service_action_key;
    state_.registrations[*dest_index].aptpl = p->aptpl;
  }
  state_.holder = *dest_index;  // same type and scope
  PrOutResult r;
  if (p->unreg) remove_registrations([&](const PrRegistration& x) { return x.nexus == who; });
  set_aptpl(p->aptpl);
  bump_generation(r);
  return r;
}

// --- conflicts and SCSI-2 reservations --------------------------------------

bool PersistentReservations::conflicts(lu::ReservationAccess access, PrNexusRef who) const {
  if (scsi2_holder_) {
    switch (access.scsi2) {
      case lu::Scsi2Access::allowed:
      case lu::Scsi2Access::own_rules:
        break;
      case lu::Scsi2Access::holder_only:
        if (!who.matches(*scsi2_holder_)) return true;
        break;
      case lu::Scsi2Access::nobody:
        return true;
    }
  }
  if (!reserved() || is_holder(who)) return false;
  switch (access.pr) {
    case lu::PrAccess::allowed:
    case lu::PrAccess::own_rules:
      return false;
    case lu::PrAccess::read:
    case lu::PrAccess::write:
      break;
  }
  // Registrants-only: a registered nexus may do anything.
  if (registrants_only_type(state_.type) && is_registered(who)) return false;
  return access.pr == lu::PrAccess::write || !write_exclusive_type(state_.type);
}

PrOutResult PersistentReservations::reserve(std::span<const uint8_t> cdb, const PrNexus& who) {
  // Third-party and extent reservations (RESERVE(6) byte 1, RESERVE(10)
  // 3RDPTY/LONGID) are obsolete and not supported.
  if (cdb.size() > 1 && cdb[0] == 0x16 && (cdb[1] & 0x1F) != 0) return invalid_cdb(1, 4);
  if (cdb.size() > 1 && cdb[0] == 0x56 && (cdb[1] & 0x13) != 0) return invalid_cdb(1, 4);
  // SPC-4 5.9.3 with SPC-2 5.5.1: once anyone is registered, RESERVE is a
  // no-op for the PR holder (and registrants of RO/AR types), else a conflict.
  if (!state_.registrations.empty()) return crh_exempt(who) ? good() : conflict();
  if (scsi2_holder_ && *scsi2_holder_ != who) return conflict();
  scsi2_holder_ = who;
  return good();
}

PrOutResult PersistentReservations::release(std::span<const uint8_t> /*cdb*/, const PrNexus& who) {
  if (!state_.registrations.empty()) return crh_exempt(who) ? good() : conflict();
  // SPC-2 7.24: releasing what another nexus holds, or nothing, is GOOD.
  if (scsi2_holder_ && *scsi2_holder_ == who) scsi2_holder_.reset();
  return good();
}

}  // namespace scsipub::scsi
