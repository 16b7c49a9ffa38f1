#pragma once
// Sense data: one SenseReason enum, one table mapping it to sense key / ASC /
// ASCQ, and a builder for fixed (70h) and descriptor (72h) format, chosen by
// D_SENSE in the control mode page (SPC-4 4.5).
#include <cstdint>
#include <optional>
#include <span>

#include "lu/unit_attention.h"

namespace scsipub::scsi {

namespace sense_key {
inline constexpr uint8_t kNoSense = 0x0;
inline constexpr uint8_t kNotReady = 0x2;
inline constexpr uint8_t kMediumError = 0x3;
inline constexpr uint8_t kHardwareError = 0x4;
inline constexpr uint8_t kIllegalRequest = 0x5;
inline constexpr uint8_t kUnitAttention = 0x6;
inline constexpr uint8_t kDataProtect = 0x7;
inline constexpr uint8_t kAbortedCommand = 0xB;
inline constexpr uint8_t kMiscompare = 0xE;
}  // namespace sense_key

enum class SenseReason : uint8_t {
  no_sense,
  invalid_opcode,                   // 05/20/00
  invalid_field_in_cdb,             // 05/24/00
  invalid_field_in_parameter_list,  // 05/26/00
  parameter_list_length_error,      // 05/1A/00
  lba_out_of_range,                 // 05/21/00
  lu_not_supported,                 // 05/25/00
  invalid_field_in_iu,              // 05/0E/03
  saving_parameters_not_supported,  // 05/39/00
  write_protected,                  // 07/27/00
  space_exhausted,                  // 07/27/00 (overlay write_limit reached)
  unrecovered_read_error,           // 03/11/00
  write_error,                      // 03/0C/00
  miscompare_during_verify,         // 0E/1D/00
  internal_target_failure,          // 04/44/00
  medium_removal_prevented,         // 05/53/02
  medium_not_present_tray_open,     // 02/3A/02
  invalid_release_of_pr,            // 05/26/04
  data_phase_error,                 // 0B/4B/00
  becoming_ready,                   // 02/04/01
  count_,
};

struct SenseCode {
  uint8_t key = 0;
  uint8_t asc = 0;
  uint8_t ascq = 0;
};

SenseCode sense_code(SenseReason reason);
// A unit attention condition the logical unit queued (lu/unit_attention.h):
// key UNIT ATTENTION with its ASC/ASCQ.
SenseCode unit_attention_code(lu::UnitAttention ua);

// SPC-4 4.5.2.4.2: field pointer sense-key specific data.
struct FieldPointer {
  bool in_cdb = true;      // C/D: 1 = CDB, 0 = parameter list
  uint16_t byte = 0;       // FIELD POINTER
  int8_t bit = -1;         // BIT POINTER, or -1 when not given (BPV = 0)
};

struct SenseDetail {
  std::optional<uint64_t> information;  // INFORMATION field (e.g. miscompare offset)
  std::optional<FieldPointer> field;
};

inline constexpr size_t kFixedSenseLength = 18;
inline constexpr size_t kMaxSenseLength = 8 + 12 + 8;  // descriptor header + info + sks

// Writes sense data into `out` (at least kMaxSenseLength bytes, zeroed by the
// builder) and returns its length.
size_t build_sense(std::span<uint8_t> out, bool descriptor_format, const SenseCode& code,
                   const SenseDetail& detail = {});

}  // namespace scsipub::scsi
