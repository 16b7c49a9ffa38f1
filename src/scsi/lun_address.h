#pragma once
// The 8-byte LUN field (SAM-5 4.7): single-level LUNs in peripheral device
// addressing (below 256) or flat space addressing (256..16383). The one
// encoder and decoder for every layer that meets a LUN field: the iSCSI
// layer (BHS LUN), REPORT LUNS and the SCSI name string of a device
// ("<target>,L,0x<lun field>", SPC-4 7.8.6.11).
#include <cstdint>

namespace scsipub::scsi {

inline constexpr uint64_t kInvalidLun = ~uint64_t{0};
// One past the highest LUN flat space addressing can carry (SAM-5 4.7.7.3).
inline constexpr uint64_t kLunLimit = 16384;

// A field naming a LUN no target has (second level present, another
// addressing method, a nonzero bus identifier) decodes to kInvalidLun.
inline constexpr uint64_t decode_lun(uint64_t field) {
  const uint8_t b0 = uint8_t(field >> 56);
  const uint8_t b1 = uint8_t(field >> 48);
  if ((field & 0x0000ffffffffffffull) != 0) return kInvalidLun;  // second level present
  switch (b0 >> 6) {
    case 0:  // SAM-5 4.7.7.2 peripheral device addressing: the bus identifier must be 0
      return (b0 & 0x3f) == 0 ? b1 : kInvalidLun;
    case 1:  // SAM-5 4.7.7.3 flat space addressing
      return uint64_t(b0 & 0x3f) << 8 | b1;
    default:
      return kInvalidLun;
  }
}

// The field for `lun` (< kLunLimit; larger LUNs are not addressable and
// encode_lun must not be asked for them).
inline constexpr uint64_t encode_lun(uint64_t lun) {
  if (lun < 256) return lun << 48;
  return (uint64_t(0x40 | ((lun >> 8) & 0x3f)) << 56) | (uint64_t(lun & 0xff) << 48);
}

static_assert(decode_lun(encode_lun(0)) == 0);
static_assert(decode_lun(encode_lun(255)) == 255);
static_assert(decode_lun(encode_lun(256)) == 256);
static_assert(decode_lun(encode_lun(kLunLimit - 1)) == kLunLimit - 1);

}  // namespace scsipub::scsi
