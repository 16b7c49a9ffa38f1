#pragma once
// CRC32C (Castagnoli) as iSCSI digests use it (RFC 7143 section 13.1): the
// hardware instruction where the CPU has it, a table otherwise.
#include <cstdint>
#include <span>

namespace scsipub::iscsi {

// Continues a CRC over more bytes. Start with crc32c_init(), finish with
// crc32c_final(); crc32c() does all three.
inline constexpr uint32_t crc32c_init() { return 0xffffffffu; }
uint32_t crc32c_update(uint32_t state, std::span<const uint8_t> bytes);
inline constexpr uint32_t crc32c_final(uint32_t state) { return ~state; }
inline uint32_t crc32c(std::span<const uint8_t> bytes) {
  return crc32c_final(crc32c_update(crc32c_init(), bytes));
}

// Both implementations, exposed so tests can check each against the same
// vectors; callers use crc32c_update(), which picks one at run time.
namespace detail {
uint32_t crc32c_update_table(uint32_t state, std::span<const uint8_t> bytes);
uint32_t crc32c_update_hw(uint32_t state, std::span<const uint8_t> bytes);  // only if available
bool crc32c_hw_available();
}  // namespace detail

// The digest bytes on the wire are the CRC in little-endian order.
inline uint32_t load_digest(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline void store_digest(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
}

}  // namespace scsipub::iscsi
