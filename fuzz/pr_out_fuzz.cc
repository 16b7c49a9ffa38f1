// libFuzzer target: PERSISTENT RESERVE OUT parameter lists and the PR state
// machine. The whole input goes through the three parsers; then it is read as
// a sequence of records driving one PersistentReservations from three I_T
// nexuses, so registrations and reservations feed later commands:
//   [op:1][nexus:1][len:1][bytes:len]
// op % 5: 0 PR OUT (bytes = 10-byte CDB, then the parameter list),
//         1 PR IN (bytes[0] = service action), 2 conflicts(bytes[0] picks the access),
//         3 RESERVE/RELEASE (bytes as a CDB), 4 reset / nexus loss / reload.
// Invariants checked after every record: the holder index is in range, keys
// are non-zero, PR IN lengths are self-consistent, state() reloads to itself,
// and a refused command changes nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "common/bytes.h"
#include "scsi/persistent_reservations.h"
#include "scsi/pr_out_params.h"

namespace {

using namespace scsipub;
using scsi::PersistentReservations;
using scsi::PrNexus;
using scsi::PrStatus;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_state(const PersistentReservations& pr) {
  const auto& s = pr.state();
  if (s.holder) {
    check(*s.holder < s.registrations.size());
  } else {
    check(s.type == 0 && s.scope == 0);
  }
  for (const auto& r : s.registrations) check(r.key != 0 && r.aptpl == s.aptpl);
  check(PersistentReservations(s).state() == s);
}

void check_in(const PersistentReservations& pr, uint8_t sa, const PrNexus& who) {
  auto r = pr.in(sa, who);
  if (sa > 3) {
    check(!r.ok());
    return;
  }
  check(r.ok());
  const auto& d = r.value();
  check(d.size() >= 8);
  if (sa == 2) {
    check(d.size() == 8 && load_be16(&d[0]) == 8);
  } else {
    check(load_be32(&d[4]) == d.size() - 8);
    check(load_be32(&d[0]) == pr.state().generation);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  (void)scsi::parse_pr_out_basic(input);
  (void)scsi::parse_pr_out_move(input);
  size_t n = 0;
  if (auto id = scsi::parse_transport_id(input, &n); id.ok()) {
    check(n <= size && n >= 24 && n % 4 == 0);
    // What we parse, we can encode and parse back to the same port name.
    auto again = scsi::encode_iscsi_transport_id(id->initiator_port());
    size_t m = 0;
    auto back = scsi::parse_transport_id(again, &m);
    check(back.ok() && back->initiator_port() == id->initiator_port());
  }

  const PrNexus nexuses[3] = {
      {"iqn.2025-01.org.example:a,i,0x400001370001", "iqn.2025-01.pub.scsipub:fuzz,t,0x0001"},
      {"iqn.2025-01.org.example:b,i,0x400001370002", "iqn.2025-01.pub.scsipub:fuzz,t,0x0001"},
      {"iqn.2025-01.org.example:a,i,0x400001370003", "iqn.2025-01.pub.scsipub:fuzz,t,0x0001"},
  };
  PersistentReservations pr;
  size_t pos = 0;
  for (int records = 0; records < 64 && pos + 3 <= size; ++records) {
    const uint8_t op = data[pos] % 5;
    const PrNexus& who = nexuses[data[pos + 1] % 3];
    size_t len = data[pos + 2];
    pos += 3;
    if (pos + len > size) len = size - pos;
    std::span<const uint8_t> bytes(data + pos, len);
    pos += len;

    switch (op) {
      case 0: {
        std::vector<uint8_t> cdb(10, 0);
        for (size_t i = 0; i < 10 && i < bytes.size(); ++i) cdb[i] = bytes[i];
        cdb[0] = 0x5F;
        auto params = bytes.size() > 10 ? bytes.subspan(10) : std::span<const uint8_t>{};
        // Mostly make the announced length match, so the parsers get past it.
        if (cdb[9] & 0x01) store_be32(&cdb[5], uint32_t(params.size()));
        const auto before = pr.state();
        auto r = pr.out(cdb, params, who);
        if (r.status != PrStatus::good || !r.state_changed) check(pr.state() == before);
        if (r.status == PrStatus::check_condition) check(r.sense.code.key == 0x05);
        check(r.status == PrStatus::good || (r.unit_attentions.empty() && r.abort_tasks_of.empty()));
        for (const auto& ua : r.unit_attentions)
          check(ua.condition == lu::ua::kReservationsPreempted || ua.condition == lu::ua::kReservationsReleased ||
                ua.condition == lu::ua::kRegistrationsPreempted);
        break;
      }
      case 1:
        check_in(pr, bytes.empty() ? 0 : bytes[0] & 0x1F, who);
        break;
      case 2: {
        const uint8_t pick = bytes.empty() ? 0 : bytes[0];
        (void)pr.conflicts(lu::ReservationAccess{lu::PrAccess(pick % 4), lu::Scsi2Access((pick >> 2) % 4)}, who);
        break;
      }
      case 3: {
        std::vector<uint8_t> cdb(bytes.begin(), bytes.end());
        if (cdb.empty()) cdb.push_back(0x16);
        cdb[0] = (cdb[0] & 1) ? ((cdb[0] & 2) ? 0x57 : 0x17) : ((cdb[0] & 2) ? 0x56 : 0x16);
        const auto before = pr.state();
        auto r = (cdb[0] & 1) ? pr.release(cdb, who) : pr.reserve(cdb, who);
        check(!r.state_changed && r.unit_attentions.empty());
        check(pr.state() == before);
        break;
      }
      default:
        if (bytes.empty()) {
          pr.reset();
        } else if (bytes[0] & 1) {
          pr.nexus_lost(who);
        } else {
          pr = PersistentReservations(pr.state());  // a restart: state reloaded
        }
        break;
    }
    check_state(pr);
  }
  return 0;
}
