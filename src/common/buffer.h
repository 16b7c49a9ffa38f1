#pragma once
// A growable byte buffer that keeps its capacity between uses, so the hot path
// reuses one allocation per connection instead of allocating per I/O.
// prepare() does not zero: writers must fill every byte they report, which is
// why metadata responses use prepare_zeroed().
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace scsipub {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t capacity) { reserve(capacity); }

  // Sets size to n (growing capacity if needed); contents are unspecified.
  uint8_t* prepare(size_t n);
  // Sets size to n with every byte zero.
  uint8_t* prepare_zeroed(size_t n);
  void resize(size_t n);  // keeps the first min(old,n) bytes; new bytes are zero
  void clear() { size_ = 0; }
  void reserve(size_t n);
  // Drops the allocation when it grew past `keep`, so one huge command does not
  // pin memory on an idle connection.
  void shrink_to(size_t keep);

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  std::span<uint8_t> span() { return {data_.get(), size_}; }
  std::span<const uint8_t> span() const { return {data_.get(), size_}; }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace scsipub
