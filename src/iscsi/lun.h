#pragma once
// The 8-byte LUN field (SAM-5 4.7): peripheral and flat-space addressing of
// single-level LUNs. Anything else maps to a LUN no target has.
#include <cstdint>

namespace scsipub::iscsi {

inline constexpr uint64_t kInvalidLun = ~uint64_t{0};

inline uint64_t decode_lun(uint64_t raw) {
  uint8_t b0 = uint8_t(raw >> 56);
  uint8_t b1 = uint8_t(raw >> 48);
  if ((raw & 0x0000ffffffffffffull) != 0) return kInvalidLun;  // second level present
  switch (b0 >> 6) {
    case 0:  // peripheral device addressing, bus identifier must be 0
      return (b0 & 0x3f) == 0 ? b1 : kInvalidLun;
    case 1:  // flat space addressing
      return uint64_t(b0 & 0x3f) << 8 | b1;
    default:
      return kInvalidLun;
  }
}

inline uint64_t encode_lun(uint64_t lun) {
  if (lun < 256) return lun << 48;
  return (uint64_t(0x40 | ((lun >> 8) & 0x3f)) << 56) | (uint64_t(lun & 0xff) << 48);
}

}  // namespace scsipub::iscsi
