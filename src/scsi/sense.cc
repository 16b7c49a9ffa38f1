#include "scsi/sense.h"

#include <algorithm>
#include <array>

#include "common/bytes.h"

namespace scsipub::scsi {

namespace {

// SPC-4 Annex D, table D.2: ASC/ASCQ assignments.
constexpr std::array<SenseCode, static_cast<size_t>(SenseReason::count_)> kSenseTable = {{
    {sense_key::kNoSense, 0x00, 0x00},          // no_sense
    {sense_key::kIllegalRequest, 0x20, 0x00},   // invalid_opcode
    {sense_key::kIllegalRequest, 0x24, 0x00},   // invalid_field_in_cdb
    {sense_key::kIllegalRequest, 0x26, 0x00},   // invalid_field_in_parameter_list
    {sense_key::kIllegalRequest, 0x1A, 0x00},   // parameter_list_length_error
    {sense_key::kIllegalRequest, 0x21, 0x00},   // lba_out_of_range
    {sense_key::kIllegalRequest, 0x25, 0x00},   // lu_not_supported
    {sense_key::kIllegalRequest, 0x0E, 0x03},   // invalid_field_in_iu
    {sense_key::kIllegalRequest, 0x39, 0x00},   // saving_parameters_not_supported
    {sense_key::kDataProtect, 0x27, 0x00},      // write_protected
    {sense_key::kDataProtect, 0x27, 0x00},      // space_exhausted
    {sense_key::kMediumError, 0x11, 0x00},      // unrecovered_read_error
    {sense_key::kMediumError, 0x0C, 0x00},      // write_error
    {sense_key::kMiscompare, 0x1D, 0x00},       // miscompare_during_verify
    {sense_key::kHardwareError, 0x44, 0x00},    // internal_target_failure
    {sense_key::kIllegalRequest, 0x53, 0x02},   // medium_removal_prevented
    {sense_key::kNotReady, 0x3A, 0x02},         // medium_not_present_tray_open
    {sense_key::kIllegalRequest, 0x26, 0x04},   // invalid_release_of_pr
    {sense_key::kAbortedCommand, 0x4B, 0x00},   // data_phase_error
    // LOGICAL UNIT IS IN PROCESS OF BECOMING READY (SPC-4 4.5.6 sense key
    // NOT READY: the logical unit is not accessible now; Annex D: 04h/01h).
    // The answer while a disk moves to another node. Linux retries it in
    // every kernel (scsi_error.c scsi_check_sense: NEEDS_RETRY; then
    // scsi_lib.c: a delayed retry for up to (retries + 1) x the command
    // timeout), and so does Windows' class driver. Not 04/0A (asymmetric
    // access state transition): that is ALUA's, which we do not report
    // (TPGS = 0), and Linux only retries it with the ALUA handler attached or
    // in kernels newer than Debian 12's.
    {sense_key::kNotReady, 0x04, 0x01},         // becoming_ready
}};

// SPC-4 Annex D, table D.2: the ASC/ASCQ of each unit attention condition
// (sense key UNIT ATTENTION), in lu::UnitAttention order.
struct AscAscq {
  uint8_t asc = 0;
  uint8_t ascq = 0;
};
constexpr std::array<AscAscq, static_cast<size_t>(lu::UnitAttention::count_)> kUnitAttentionTable = {{
    {0x28, 0x00},  // medium_may_have_changed
    {0x29, 0x00},  // power_on_reset_occurred
    {0x29, 0x01},  // power_on_occurred
    {0x29, 0x03},  // bus_device_reset_function_occurred
    {0x29, 0x07},  // it_nexus_loss_occurred
    {0x2A, 0x01},  // mode_parameters_changed
    {0x2A, 0x03},  // reservations_preempted
    {0x2A, 0x04},  // reservations_released
    {0x2A, 0x05},  // registrations_preempted
    {0x3F, 0x0E},  // reported_luns_data_changed
}};

void put_field_pointer(uint8_t* p, const FieldPointer& f) {
  p[0] = 0x80;  // SKSV
  if (f.in_cdb) p[0] |= 0x40;
  if (f.bit >= 0 && f.bit <= 7) p[0] |= uint8_t(0x08 | f.bit);
  store_be16(p + 1, f.byte);
}

}  // namespace

SenseCode sense_code(SenseReason reason) {
  auto i = static_cast<size_t>(reason);
  return i < kSenseTable.size() ? kSenseTable[i] : kSenseTable[0];
}

SenseCode unit_attention_code(lu::UnitAttention ua) {
  const auto i = static_cast<size_t>(ua);
  const AscAscq c = i < kUnitAttentionTable.size() ? kUnitAttentionTable[i] : AscAscq{0x29, 0x00};
  return {sense_key::kUnitAttention, c.asc, c.ascq};
}

size_t build_sense(std::span<uint8_t> out, bool descriptor_format, const SenseCode& code,
                   const SenseDetail& detail) {
  if (out.size() < kMaxSenseLength) return 0;
  std::fill(out.begin(), out.end(), uint8_t{0});
  uint8_t* p = out.data();
  if (!descriptor_format) {
    // SPC-4 4.5.3: fixed format sense data.
    p[0] = 0x70;
    p[2] = code.key & 0x0F;
    if (detail.information && *detail.information <= 0xFFFFFFFFu) {
      p[0] |= 0x80;  // VALID
      store_be32(p + 3, uint32_t(*detail.information));
    }
    p[7] = kFixedSenseLength - 8;
    p[12] = code.asc;
    p[13] = code.ascq;
    if (detail.field) put_field_pointer(p + 15, *detail.field);
    return kFixedSenseLength;
  }
  // SPC-4 4.5.2: descriptor format sense data.
  p[0] = 0x72;
  p[1] = code.key & 0x0F;
  p[2] = code.asc;
  p[3] = code.ascq;
  size_t n = 8;
  if (detail.information) {
    // SPC-4 4.5.2.2: information sense data descriptor.
    p[n] = 0x00;
    p[n + 1] = 0x0A;
    p[n + 2] = 0x80;  // VALID
    store_be64(p + n + 4, *detail.information);
    n += 12;
  }
  if (detail.field) {
    // SPC-4 4.5.2.4: sense key specific sense data descriptor.
    p[n] = 0x02;
    p[n + 1] = 0x06;
    put_field_pointer(p + n + 4, *detail.field);
    n += 8;
  }
  p[7] = uint8_t(n - 8);
  return n;
}

}  // namespace scsipub::scsi
