#include "storage/sector_bitmap.h"

#include <algorithm>
#include <bit>
#include <span>

namespace scsipub::storage {
namespace {

// Mask of bits [lo, hi) within one word, 0 <= lo < hi <= 64.
uint64_t word_mask(unsigned lo, unsigned hi) {
  uint64_t upper = hi == 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1;
  return upper & ~((uint64_t{1} << lo) - 1);
}

// Walks [first, first+count) one word at a time, handing op the word and the
// mask of bits in range; op returns the number of bits it counted/changed.
// Word is uint64_t or const uint64_t, so one walker serves set, clear and count.
template <class Word, class Op>
uint64_t walk_range(std::span<Word> words, uint64_t first, uint64_t count, Op op) {
  uint64_t total = 0;
  uint64_t end = first + count;
  while (first < end) {
    uint64_t w = first / 64;
    unsigned lo = static_cast<unsigned>(first % 64);
    unsigned hi = static_cast<unsigned>(std::min<uint64_t>(64, end - w * 64));
    total += op(words[w], word_mask(lo, hi));
    first = w * 64 + hi;
  }
  return total;
}

}  // namespace

SectorBitmap::SectorBitmap(uint64_t bits) : bits_(bits), words_(words_for(bits), 0) {}

uint64_t SectorBitmap::set_range(uint64_t first, uint64_t count) {
  return walk_range(std::span<uint64_t>(words_), first, count, [](uint64_t& word, uint64_t mask) {
    uint64_t changed = ~word & mask;
    word |= mask;
    return static_cast<uint64_t>(std::popcount(changed));
  });
}

uint64_t SectorBitmap::clear_range(uint64_t first, uint64_t count) {
  return walk_range(std::span<uint64_t>(words_), first, count, [](uint64_t& word, uint64_t mask) {
    uint64_t changed = word & mask;
    word &= ~mask;
    return static_cast<uint64_t>(std::popcount(changed));
  });
}

uint64_t SectorBitmap::count_set(uint64_t first, uint64_t count) const {
  return walk_range(std::span<const uint64_t>(words_), first, count,
                    [](const uint64_t& word, uint64_t mask) {
                      return static_cast<uint64_t>(std::popcount(word & mask));
                    });
}

uint64_t SectorBitmap::run_length(uint64_t first, uint64_t max_len) const {
  if (max_len == 0 || first >= bits_) return 0;
  const uint64_t end = first + std::min(max_len, bits_ - first);
  // Invert words of a set run so both cases look for the next 1 bit.
  const uint64_t flip = test(first) ? ~uint64_t{0} : 0;
  uint64_t pos = first;
  while (pos < end) {
    uint64_t w = pos / 64;
    unsigned off = static_cast<unsigned>(pos % 64);
    uint64_t differs = (words_[w] ^ flip) >> off;
    if (differs != 0) {
      pos += static_cast<uint64_t>(std::countr_zero(differs));
      return std::min(pos, end) - first;
    }
    pos = (w + 1) * 64;
  }
  return end - first;
}

void SectorBitmap::clear_padding() {
  if (bits_ % 64 != 0) words_.back() &= word_mask(0, static_cast<unsigned>(bits_ % 64));
}

}  // namespace scsipub::storage
