#include "common/buffer.h"

#include <algorithm>
#include <cstring>

namespace scsipub {

void Buffer::reserve(size_t n) {
  if (n <= capacity_) return;
  size_t cap = std::max<size_t>(n, capacity_ * 2);
  auto fresh = std::make_unique_for_overwrite<uint8_t[]>(cap);
  if (size_ != 0) std::memcpy(fresh.get(), data_.get(), size_);
  data_ = std::move(fresh);
  capacity_ = cap;
}

uint8_t* Buffer::prepare(size_t n) {
  if (n > capacity_) {
    // Contents are discarded anyway: allocate exactly, without copying.
    data_ = std::make_unique_for_overwrite<uint8_t[]>(n);
    capacity_ = n;
  }
  size_ = n;
  return data_.get();
}

uint8_t* Buffer::prepare_zeroed(size_t n) {
  prepare(n);
  if (n != 0) std::memset(data_.get(), 0, n);
  return data_.get();
}

void Buffer::resize(size_t n) {
  reserve(n);
  if (n > size_) std::memset(data_.get() + size_, 0, n - size_);
  size_ = n;
}

void Buffer::shrink_to(size_t keep) {
  if (capacity_ <= keep) return;
  data_.reset();
  capacity_ = 0;
  size_ = 0;
}

}  // namespace scsipub
