#include "storage/sector_bitmap.h"

#include <algorithm>
#include <bit>

namespace scsipub::storage {
namespace {

// Mask of bits [lo, hi) within one word, 0 <= lo < hi <= 64.
uint64_t word_mask(unsigned lo, unsigned hi) {
  uint64_t upper = hi == 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1;
  return upper & ~((uint64_t{1} << lo) - 1);
}

// Walks bits [lo, hi) of one page (0 <= lo < hi <= kPageBits) a word at a
// time, handing op the word and the mask of bits in range; op returns the
// number of bits it counted or changed. Word is uint64_t or const uint64_t, so
// one walker serves set, clear and count.
template <class Word, class Op>
uint64_t walk_page(Word* words, uint64_t lo, uint64_t hi, Op op) {
  uint64_t total = 0;
  while (lo < hi) {
    uint64_t w = lo / 64;
    unsigned from = static_cast<unsigned>(lo % 64);
    unsigned to = static_cast<unsigned>(std::min<uint64_t>(64, hi - w * 64));
    total += op(words[w], word_mask(from, to));
    lo = w * 64 + to;
  }
  return total;
}

// Splits [first, first+count) (already clamped) at page boundaries and calls
// fn(page, lo, hi) with bit offsets inside that page.
template <class Fn>
void for_each_page(uint64_t first, uint64_t count, Fn fn) {
  const uint64_t end = first + count;
  while (first < end) {
    const uint64_t p = first / SectorBitmap::kPageBits;
    const uint64_t base = p * SectorBitmap::kPageBits;
    const uint64_t hi = std::min(end, base + SectorBitmap::kPageBits);
    fn(p, first - base, hi - base);
    first = hi;
  }
}

}  // namespace

SectorBitmap::SectorBitmap(uint64_t bits) : bits_(bits) {}

uint64_t SectorBitmap::page_words(uint64_t p) const {
  const uint64_t total = words_for(bits_);
  const uint64_t start = p * kPageWords;
  return start >= total ? 0 : std::min(kPageWords, total - start);
}

uint64_t* SectorBitmap::page_for_write(uint64_t p) {
  if (dirs_.empty()) dirs_.resize(dir_count());
  Dir& dir = dirs_[p / kDirPages];
  if (!dir) {
    const uint64_t first_page = p / kDirPages * kDirPages;
    dir = std::make_unique<Page[]>(std::min(kDirPages, page_count() - first_page));
  }
  Page& page = dir[p % kDirPages];
  if (!page) {
    page = std::make_unique<uint64_t[]>(page_words(p));  // value-initialized: zeros
    ++allocated_pages_;
  }
  return page.get();
}

void SectorBitmap::release_if_empty(uint64_t p) {
  Dir& dir = dirs_[p / kDirPages];
  Page& page = dir[p % kDirPages];
  const uint64_t n = page_words(p);
  if (std::any_of(page.get(), page.get() + n, [](uint64_t w) { return w != 0; })) return;
  page.reset();
  --allocated_pages_;
  const uint64_t first_page = p / kDirPages * kDirPages;
  const uint64_t pages_here = std::min(kDirPages, page_count() - first_page);
  if (std::none_of(dir.get(), dir.get() + pages_here, [](const Page& q) { return q != nullptr; })) {
    dir.reset();
  }
  if (allocated_pages_ == 0) {
    dirs_.clear();
    dirs_.shrink_to_fit();
  }
}

uint64_t SectorBitmap::set_range(uint64_t first, uint64_t count) {
  if (first >= bits_) return 0;
  count = std::min(count, bits_ - first);
  uint64_t changed = 0;
  for_each_page(first, count, [&](uint64_t p, uint64_t lo, uint64_t hi) {
    changed += walk_page(page_for_write(p), lo, hi, [](uint64_t& word, uint64_t mask) {
      uint64_t flipped = ~word & mask;
      word |= mask;
      return static_cast<uint64_t>(std::popcount(flipped));
    });
  });
  return changed;
}

uint64_t SectorBitmap::clear_range(uint64_t first, uint64_t count) {
  if (first >= bits_ || allocated_pages_ == 0) return 0;
  count = std::min(count, bits_ - first);
  uint64_t changed = 0;
  for_each_page(first, count, [&](uint64_t p, uint64_t lo, uint64_t hi) {
    uint64_t* words = existing_page(p);
    if (words == nullptr) return;  // already all clear
    uint64_t here = walk_page(words, lo, hi, [](uint64_t& word, uint64_t mask) {
      uint64_t flipped = word & mask;
      word &= ~mask;
      return static_cast<uint64_t>(std::popcount(flipped));
    });
    if (here != 0) release_if_empty(p);
    changed += here;
  });
  return changed;
}

uint64_t SectorBitmap::count_set(uint64_t first, uint64_t count) const {
  if (first >= bits_ || allocated_pages_ == 0) return 0;
  count = std::min(count, bits_ - first);
  uint64_t total = 0;
  for_each_page(first, count, [&](uint64_t p, uint64_t lo, uint64_t hi) {
    const uint64_t* words = page(p);
    if (words == nullptr) return;
    total += walk_page(words, lo, hi, [](const uint64_t& word, uint64_t mask) {
      return static_cast<uint64_t>(std::popcount(word & mask));
    });
  });
  return total;
}

uint64_t SectorBitmap::run_length(uint64_t first, uint64_t max_len) const {
  if (max_len == 0 || first >= bits_) return 0;
  const uint64_t end = first + std::min(max_len, bits_ - first);
  if (allocated_pages_ == 0) return end - first;  // all clear: one run
  // Invert words of a set run so both cases look for the next 1 bit.
  const bool ones = test(first);
  const uint64_t flip = ones ? ~uint64_t{0} : 0;
  uint64_t pos = first;
  while (pos < end) {
    const uint64_t p = pos / kPageBits;
    const uint64_t* words = page(p);
    if (words == nullptr) {
      // An absent page is all zeros: it ends a run of ones at once and is
      // skipped whole by a run of zeros.
      if (ones) return pos - first;
      pos = (p + 1) * kPageBits;
      continue;
    }
    const uint64_t page_end = std::min(end, (p + 1) * kPageBits);
    while (pos < page_end) {
      uint64_t w = pos % kPageBits / 64;
      unsigned off = static_cast<unsigned>(pos % 64);
      uint64_t differs = (words[w] ^ flip) >> off;
      if (differs != 0) {
        pos += static_cast<uint64_t>(std::countr_zero(differs));
        return std::min(pos, end) - first;
      }
      pos = pos - pos % 64 + 64;
    }
  }
  return std::min(pos, end) - first;
}

void SectorBitmap::clear_bits_set_in(const SectorBitmap& other) {
  if (allocated_pages_ == 0) return;
  const uint64_t pages = std::min(page_count(), other.page_count());
  for (uint64_t p = 0; p < pages; ++p) {
    const uint64_t* theirs = other.page(p);
    uint64_t* mine = existing_page(p);
    if (theirs == nullptr || mine == nullptr) continue;
    bool changed = false;
    for (uint64_t w = 0; w < page_words(p); ++w) {
      changed |= (mine[w] & theirs[w]) != 0;
      mine[w] &= ~theirs[w];
    }
    if (changed) release_if_empty(p);
    if (allocated_pages_ == 0) return;
  }
}

void SectorBitmap::assign_page(uint64_t p, std::span<const uint64_t> words) {
  const uint64_t n = std::min<uint64_t>(page_words(p), words.size());
  const bool any = std::any_of(words.begin(), words.begin() + static_cast<std::ptrdiff_t>(n),
                               [](uint64_t w) { return w != 0; });
  if (!any) {
    if (page(p) != nullptr) {
      std::fill_n(existing_page(p), page_words(p), 0);
      release_if_empty(p);
    }
    return;
  }
  uint64_t* mine = page_for_write(p);
  std::copy_n(words.begin(), n, mine);
  std::fill(mine + n, mine + page_words(p), 0);
  // Stray bits past the end would make runs near the end lie.
  if (p + 1 == page_count() && bits_ % 64 != 0) {
    mine[page_words(p) - 1] &= word_mask(0, static_cast<unsigned>(bits_ % 64));
  }
  release_if_empty(p);  // the padding may have been the only set bits
}

}  // namespace scsipub::storage
