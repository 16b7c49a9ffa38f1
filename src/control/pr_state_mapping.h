#pragma once
// Persistent reservation state between the SCSI layer's value and the
// MetaStore's record (the db layer knows nothing of SCSI).
#include "db/meta_store.h"
#include "scsi/persistent_reservations.h"

namespace scsipub::control {

db::PrState to_db(const scsi::PrStateValue& state);
// PTPL_A is not a column: it is taken as set when any registration was made
// with APTPL (scsipub keeps reservations across restarts either way).
scsi::PrStateValue from_db(const db::PrState& state);

}  // namespace scsipub::control
