#pragma once
// How a command fares against a reservation held through another I_T nexus.
// The opcode table (scsi/opcode_table.h) gives every command its access; the
// reservation state (scsi::PersistentReservations) decides with it. Defined
// here because LuExtension::conflicts, below the SCSI layer, takes it.
#include <cstdint>

namespace scsipub::lu {

// Under a persistent reservation another I_T nexus holds (SPC-4 5.9.1 table 62
// "SPC commands that are allowed in the presence of various reservations",
// SBC-3 4.17 table 13 for block commands).
enum class PrAccess : uint8_t {
  allowed,    // "Allowed" in every column
  read,       // allowed under the Write Exclusive types, a conflict under the Exclusive Access types
  write,      // a conflict for every non-holder (registrants of RO/AR types excepted)
  own_rules,  // PERSISTENT RESERVE OUT, RESERVE, RELEASE: the command applies its own (SPC-4 5.9.3, 5.9.7..)
};

// Under a SCSI-2 reservation (RESERVE(6)/(10), SPC-2 5.5.1 and 7.21).
enum class Scsi2Access : uint8_t {
  allowed,      // any I_T nexus may run it
  holder_only,  // RESERVATION CONFLICT for every other I_T nexus
  nobody,       // RESERVATION CONFLICT for every I_T nexus, the holder included (PR IN/OUT, SPC-4 6.15.1, 6.16.1)
  own_rules,    // RESERVE, RELEASE: the command applies its own (SPC-2 7.21, 7.24)
};

struct ReservationAccess {
  PrAccess pr = PrAccess::write;
  Scsi2Access scsi2 = Scsi2Access::holder_only;
  friend bool operator==(const ReservationAccess&, const ReservationAccess&) = default;
};

}  // namespace scsipub::lu
