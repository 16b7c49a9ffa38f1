#include "control/random_source.h"

#include <array>
#include <string_view>
#include <vector>

#include "iscsi/chap.h"

namespace scsipub::control {

uint64_t SystemRandom::next_u64() {
  std::lock_guard lock(mu_);
  return (uint64_t(device_()) << 32) ^ device_();
}

bool SystemRandom::fill_secure(std::span<uint8_t> out) { return iscsi::openssl_random_bytes(out); }

Result<std::string> random_hex(RandomSource& random, size_t bytes) {
  static constexpr std::string_view kDigits = "0123456789abcdef";
  std::vector<uint8_t> buf(bytes);
  if (bytes == 0 || !random.fill_secure(buf)) return fail("no randomness available");
  std::string out;
  out.reserve(bytes * 2);
  for (uint8_t b : buf) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

Result<std::string> random_alphanumeric(RandomSource& random, size_t length) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  // 248 = 4 * 62: bytes at or above it are dropped, which keeps the draw
  // uniform. Each round keeps about 97% of its bytes; the bound only stops a
  // broken source that returns nothing but high bytes.
  constexpr int kMaxRounds = 64;
  std::string out;
  std::array<uint8_t, 64> buf{};
  for (int round = 0; round < kMaxRounds && out.size() < length; ++round) {
    if (!random.fill_secure(buf)) return fail("no randomness available");
    for (uint8_t b : buf) {
      if (b >= 248) continue;
      out.push_back(kAlphabet[b % 62]);
      if (out.size() == length) break;
    }
  }
  if (out.size() < length) return fail("the random source gave no usable bytes");
  return out;
}

}  // namespace scsipub::control
