#pragma once
// Where the control layer draws randomness. Production passes SystemRandom
// (wired once in app/serve.cc); tests pass a seeded source, so overlay ids,
// NAA identifiers, disk ids and CHAP secrets are the same on every run.
// Implementations are safe to call from several threads at once.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <random>
#include <span>
#include <string>

#include "common/result.h"

namespace scsipub::control {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Unpredictable across processes but not secret: id prefixes and seeds.
  virtual uint64_t next_u64() = 0;
  // Bytes fit for secrets (CHAP challenges and secrets, disk ids); false
  // when the system has no randomness to give.
  virtual bool fill_secure(std::span<uint8_t> out) = 0;
};

// std::random_device for next_u64, OpenSSL RAND_bytes for fill_secure.
class SystemRandom final : public RandomSource {
 public:
  uint64_t next_u64() override;
  bool fill_secure(std::span<uint8_t> out) override;

 private:
  std::mutex mu_;  // std::random_device promises no thread safety
  std::random_device device_;
};

// `bytes` secure random bytes as lowercase hex (twice as many characters).
Result<std::string> random_hex(RandomSource& random, size_t bytes);
// `length` characters of [A-Za-z0-9], each drawn uniformly (CHAP secrets).
Result<std::string> random_alphanumeric(RandomSource& random, size_t length);

}  // namespace scsipub::control
