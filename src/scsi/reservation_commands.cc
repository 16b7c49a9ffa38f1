// PERSISTENT RESERVE IN/OUT (SPC-4 6.15, 6.16) and SCSI-2 RESERVE/RELEASE
// (SPC-2 7.21, 7.24): decoding the CDB and delivering the result; the rules
// live in PersistentReservations, shared per LU through LuReservations.
#include <algorithm>

#include "common/bytes.h"
#include "scsi/handlers.h"
#include "scsi/lu_reservations.h"

namespace scsipub::scsi::handlers {
namespace {

// The LU's reservations and the nexus asking; nullptr (and the command
// failed) when either is missing.
LuReservations* context(Command& cmd) {
  LuReservations* r = reservations_of(cmd.lu());
  if (r == nullptr || cmd.task().nexus == nullptr) {
    cmd.fail(SenseReason::invalid_opcode);
    return nullptr;
  }
  return r;
}

void deliver(Command& cmd, const PrOutResult& r) {
  switch (r.status) {
    case PrStatus::good: return;
    case PrStatus::reservation_conflict:
      cmd.out().clear();
      cmd.task().status = status::kReservationConflict;
      return;
    case PrStatus::check_condition: cmd.fail(r.sense.code, r.sense.detail); return;
  }
}

}  // namespace

void persistent_reserve_in(Command& cmd) {
  LuReservations* r = context(cmd);
  if (r == nullptr) return;
  auto cdb = cmd.cdb();
  const uint16_t allocation = load_be16(cdb.data() + 7);
  auto data = r->in(cdb[1] & 0x1F, *cmd.task().nexus);
  if (!data.ok()) {
    cmd.fail(data.error().code, data.error().detail);
    return;
  }
  const auto& bytes = data.value();
  uint8_t* p = cmd.reply(bytes.size());
  std::copy(bytes.begin(), bytes.end(), p);
  cmd.truncate(allocation);
}

void persistent_reserve_out(Command& cmd) {
  LuReservations* r = context(cmd);
  if (r == nullptr) return;
  auto cdb = cmd.cdb();
  const uint32_t length = load_be32(cdb.data() + 5);
  cmd.set_write_transfer_length(length);
  auto params = cmd.data_out().first(std::min<size_t>(length, cmd.data_out().size()));
  deliver(cmd, r->out(cdb, params, *cmd.task().nexus, cmd.lu()));
}

void reserve(Command& cmd) {
  LuReservations* r = context(cmd);
  if (r == nullptr) return;
  deliver(cmd, r->reserve(cmd.cdb(), *cmd.task().nexus));
}

void release(Command& cmd) {
  LuReservations* r = context(cmd);
  if (r == nullptr) return;
  deliver(cmd, r->release(cmd.cdb(), *cmd.task().nexus));
}

}  // namespace scsipub::scsi::handlers
