#pragma once
// A unit attention condition as the logical unit keeps it: sense key is always
// UNIT ATTENTION (06h), so only the additional sense code and qualifier are
// stored. The SCSI layer turns it into sense data (fixed or descriptor).
#include <cstdint>

namespace scsipub::lu {

struct UnitAttention {
  uint8_t asc = 0;
  uint8_t ascq = 0;
  friend bool operator==(const UnitAttention&, const UnitAttention&) = default;
};

namespace ua {
// SPC-4 table D.2 (ASC/ASCQ assignments)
inline constexpr UnitAttention kMediumMayHaveChanged{0x28, 0x00};  // NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED
inline constexpr UnitAttention kPowerOnResetOccurred{0x29, 0x00};
inline constexpr UnitAttention kPowerOnOccurred{0x29, 0x01};
inline constexpr UnitAttention kBusDeviceResetFunctionOccurred{0x29, 0x03};
inline constexpr UnitAttention kItNexusLossOccurred{0x29, 0x07};
inline constexpr UnitAttention kModeParametersChanged{0x2A, 0x01};
inline constexpr UnitAttention kReservationsPreempted{0x2A, 0x03};
inline constexpr UnitAttention kReservationsReleased{0x2A, 0x04};
inline constexpr UnitAttention kRegistrationsPreempted{0x2A, 0x05};
inline constexpr UnitAttention kReportedLunsDataChanged{0x3F, 0x0E};
}  // namespace ua

}  // namespace scsipub::lu
