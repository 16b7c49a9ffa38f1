#pragma once
// One bit per 512-byte sector, kept as 64-bit words so runs of equal bits are
// found a word at a time (count-trailing-zeros) rather than bit by bit.
//
// Paged and sparse, because most maps are almost empty: a free-tier session
// that only reads never sets a bit, and its maps must not cost memory in
// proportion to the disk. Bits live in pages of kPageWords words (32768
// sectors, 16 MiB of disk); a page that holds no set bit is not allocated and
// reads as zeros. Pages hang off directories of kDirPages pages (8 GiB of
// disk each), and the list of directories is itself allocated on the first
// set, so a map that was never written holds no heap memory whatever its size.
// A page is freed again when clearing leaves it all-zero, and a directory
// when its last page goes. Lookups are two array indexings.
//
// Bits past size() are always zero.
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace scsipub::storage {

class SectorBitmap {
 public:
  static constexpr uint64_t kPageWords = 512;  // 4 KiB of bits
  static constexpr uint64_t kPageBits = kPageWords * 64;
  static constexpr uint64_t kDirPages = 512;

  explicit SectorBitmap(uint64_t bits = 0);
  SectorBitmap(SectorBitmap&&) noexcept = default;
  SectorBitmap& operator=(SectorBitmap&&) noexcept = default;

  uint64_t size() const { return bits_; }
  bool test(uint64_t bit) const {
    const uint64_t* p = page(bit / kPageBits);
    return p != nullptr && ((p[bit % kPageBits / 64] >> (bit % 64)) & 1u);
  }

  // Set / clear [first, first+count); return how many bits changed. The range
  // is clamped to size().
  uint64_t set_range(uint64_t first, uint64_t count);
  uint64_t clear_range(uint64_t first, uint64_t count);
  // Number of set bits in [first, first+count).
  uint64_t count_set(uint64_t first, uint64_t count) const;
  uint64_t count_set() const { return count_set(0, bits_); }
  // Length of the run of bits equal to test(first) starting at first, capped
  // at max_len and at size(). 0 when max_len is 0 or first >= size().
  uint64_t run_length(uint64_t first, uint64_t max_len) const;
  // Clears every bit that is set in `other` (same size).
  void clear_bits_set_in(const SectorBitmap& other);

  // Page-wise access, for persistence. Page p holds bits [p*kPageBits,
  // (p+1)*kPageBits); within it bit i lives in word i/64 at bit i%64.
  static uint64_t words_for(uint64_t bits) { return (bits + 63) / 64; }
  uint64_t page_count() const { return (words_for(bits_) + kPageWords - 1) / kPageWords; }
  // Words of page p that lie within size() (kPageWords except for the last).
  uint64_t page_words(uint64_t p) const;
  // Page p's words, or nullptr when the page is all zeros.
  const uint64_t* page(uint64_t p) const {
    if (p / kDirPages >= dirs_.size()) return nullptr;
    const auto& dir = dirs_[p / kDirPages];
    return dir ? dir[p % kDirPages].get() : nullptr;
  }
  // Replaces page p with `words` (page_words(p) of them); bits past size() are
  // dropped, and an all-zero page is not allocated.
  void assign_page(uint64_t p, std::span<const uint64_t> words);
  // Pages currently allocated (memory use, for tests and accounting).
  uint64_t allocated_pages() const { return allocated_pages_; }

 private:
  using Page = std::unique_ptr<uint64_t[]>;
  using Dir = std::unique_ptr<Page[]>;

  uint64_t* existing_page(uint64_t p) { return const_cast<uint64_t*>(std::as_const(*this).page(p)); }
  uint64_t dir_count() const { return (page_count() + kDirPages - 1) / kDirPages; }
  uint64_t* page_for_write(uint64_t p);
  // Frees page p if it holds no set bit.
  void release_if_empty(uint64_t p);

  uint64_t bits_ = 0;
  std::vector<Dir> dirs_;  // empty until the first set; then dir_count() entries
  uint64_t allocated_pages_ = 0;
};

}  // namespace scsipub::storage
