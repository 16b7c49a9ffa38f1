#pragma once
// Sequence numbers (CmdSN, StatSN, DataSN) compare with serial number
// arithmetic, RFC 1982 with SERIAL_BITS = 32 (RFC 7143 section 4.2.2.1).
#include <cstdint>

namespace scsipub::iscsi {

inline bool sn_lt(uint32_t a, uint32_t b) { return a != b && static_cast<int32_t>(a - b) < 0; }
inline bool sn_le(uint32_t a, uint32_t b) { return a == b || sn_lt(a, b); }
inline bool sn_gt(uint32_t a, uint32_t b) { return sn_lt(b, a); }

}  // namespace scsipub::iscsi
