#pragma once
// One bit per 512-byte sector, kept as 64-bit words so runs of equal bits are
// found a word at a time (count-trailing-zeros) rather than bit by bit. Bits
// past size() in the last word are always zero.
#include <cstdint>
#include <span>
#include <vector>

namespace scsipub::storage {

class SectorBitmap {
 public:
  explicit SectorBitmap(uint64_t bits = 0);

  uint64_t size() const { return bits_; }
  bool test(uint64_t bit) const { return (words_[bit / 64] >> (bit % 64)) & 1u; }

  // Set / clear [first, first+count); return how many bits changed.
  uint64_t set_range(uint64_t first, uint64_t count);
  uint64_t clear_range(uint64_t first, uint64_t count);
  // Number of set bits in [first, first+count).
  uint64_t count_set(uint64_t first, uint64_t count) const;
  uint64_t count_set() const { return count_set(0, bits_); }
  // Length of the run of bits equal to test(first) starting at first, capped
  // at max_len and at size(). 0 when max_len is 0 or first >= size().
  uint64_t run_length(uint64_t first, uint64_t max_len) const;

  // Raw words, for persistence. Bit i lives in word i/64 at bit i%64.
  std::span<const uint64_t> words() const { return words_; }
  std::span<uint64_t> mutable_words() { return words_; }
  static uint64_t words_for(uint64_t bits) { return (bits + 63) / 64; }
  // Zeroes any bits past size() (after loading words from disk).
  void clear_padding();

 private:
  uint64_t bits_;
  std::vector<uint64_t> words_;
};

}  // namespace scsipub::storage
