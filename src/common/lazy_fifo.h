#pragma once
// A first-in first-out queue that holds no heap memory while empty.
// libstdc++'s std::deque allocates its map and a 512-byte block as soon as it
// is constructed, so a queue that is empty for most of a session's life (tens
// of thousands of idle sessions) would pin that half KiB each. This one keeps
// its items in a vector read from a moving head and gives the vector back
// when the last item leaves.
#include <cstddef>
#include <utility>
#include <vector>

namespace scsipub {

template <class T>
class LazyFifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  const T& front() const { return items_[head_]; }
  T& front() { return items_[head_]; }
  void push_back(T item) { items_.push_back(std::move(item)); }
  // Precondition: !empty().
  void pop_front() {
    ++head_;
    if (head_ == items_.size()) {
      std::vector<T>().swap(items_);
      head_ = 0;
    } else if (head_ >= kCompactAfter && head_ * 2 >= items_.size()) {
      // The consumed half is dead weight: drop it (amortised O(1) per item).
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  bool holds_memory() const { return items_.capacity() != 0; }

 private:
  static constexpr size_t kCompactAfter = 32;
  std::vector<T> items_;
  size_t head_ = 0;
};

}  // namespace scsipub
