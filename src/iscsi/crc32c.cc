#include "iscsi/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace scsipub::iscsi {
namespace {

// Reflected Castagnoli polynomial (RFC 7143 13.1 points at RFC 3385 for the
// choice of CRC32C).
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

namespace detail {

uint32_t crc32c_update_table(uint32_t state, std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes) state = kTable[(state ^ b) & 0xff] ^ (state >> 8);
  return state;
}

#if defined(__x86_64__)
// The target attribute lets this one function use SSE4.2 without compiling
// the whole project with -msse4.2; it is only called after the CPU check.
__attribute__((target("sse4.2"))) uint32_t crc32c_update_hw(uint32_t state,
                                                             std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  // Bytes until 8-byte alignment, so the wide loop does aligned loads.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    state = _mm_crc32_u8(state, *p++);
    --n;
  }
  uint64_t s = state;
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof word);  // no aliasing games; compiles to one load
    s = _mm_crc32_u64(s, word);
    p += 8;
    n -= 8;
  }
  state = uint32_t(s);
  while (n > 0) {
    state = _mm_crc32_u8(state, *p++);
    --n;
  }
  return state;
}

bool crc32c_hw_available() {
  // Evaluated once; a function-local constant, not mutable global state.
  static const bool kHave = __builtin_cpu_supports("sse4.2");
  return kHave;
}
#else
uint32_t crc32c_update_hw(uint32_t state, std::span<const uint8_t> bytes) {
  return crc32c_update_table(state, bytes);
}
bool crc32c_hw_available() { return false; }
#endif

}  // namespace detail

uint32_t crc32c_update(uint32_t state, std::span<const uint8_t> bytes) {
  if (detail::crc32c_hw_available()) return detail::crc32c_update_hw(state, bytes);
  return detail::crc32c_update_table(state, bytes);
}

}  // namespace scsipub::iscsi
