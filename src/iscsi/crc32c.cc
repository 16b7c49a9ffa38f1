#include "iscsi/crc32c.h"

#include <array>

namespace scsipub::iscsi {
namespace {

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kTable = make_table();

}  // namespace

uint32_t crc32c_update(uint32_t state, std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes) state = kTable[(state ^ b) & 0xff] ^ (state >> 8);
  return state;
}

}  // namespace scsipub::iscsi
