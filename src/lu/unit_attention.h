#pragma once
// A unit attention condition as the logical unit keeps it (SAM-5 5.14): which
// condition, not its bytes. The sense key is always UNIT ATTENTION (06h); the
// SCSI layer's sense table (scsi/sense.cc) gives each condition its ASC/ASCQ
// and builds the sense data (fixed or descriptor).
#include <cstdint>

namespace scsipub::lu {

enum class UnitAttention : uint8_t {
  medium_may_have_changed,             // NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED
  power_on_reset_occurred,             // POWER ON, RESET, OR BUS DEVICE RESET OCCURRED
  power_on_occurred,                   // POWER ON OCCURRED
  bus_device_reset_function_occurred,  // BUS DEVICE RESET FUNCTION OCCURRED
  it_nexus_loss_occurred,              // I_T NEXUS LOSS OCCURRED
  mode_parameters_changed,             // MODE PARAMETERS CHANGED
  reservations_preempted,              // RESERVATIONS PREEMPTED
  reservations_released,               // RESERVATIONS RELEASED
  registrations_preempted,             // REGISTRATIONS PREEMPTED
  reported_luns_data_changed,          // REPORTED LUNS DATA HAS CHANGED
  count_,
};

namespace ua {
inline constexpr UnitAttention kMediumMayHaveChanged = UnitAttention::medium_may_have_changed;
inline constexpr UnitAttention kPowerOnResetOccurred = UnitAttention::power_on_reset_occurred;
inline constexpr UnitAttention kPowerOnOccurred = UnitAttention::power_on_occurred;
inline constexpr UnitAttention kBusDeviceResetFunctionOccurred = UnitAttention::bus_device_reset_function_occurred;
inline constexpr UnitAttention kItNexusLossOccurred = UnitAttention::it_nexus_loss_occurred;
inline constexpr UnitAttention kModeParametersChanged = UnitAttention::mode_parameters_changed;
inline constexpr UnitAttention kReservationsPreempted = UnitAttention::reservations_preempted;
inline constexpr UnitAttention kReservationsReleased = UnitAttention::reservations_released;
inline constexpr UnitAttention kRegistrationsPreempted = UnitAttention::registrations_preempted;
inline constexpr UnitAttention kReportedLunsDataChanged = UnitAttention::reported_luns_data_changed;
}  // namespace ua

}  // namespace scsipub::lu
