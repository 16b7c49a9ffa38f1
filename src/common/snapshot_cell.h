#pragma once
// A value that many threads read on every command and one writer at a time
// replaces rarely (the persistent-reservation state a cluster holds all day).
// Readers take no lock and never wait: a published value is immutable, and
// read() hands the reader a reference that stays valid until its function
// returns. A replaced value is freed once no reader is inside read().
//
// How a reader stays safe: it counts itself in before loading the pointer and
// out after using it. The writer swaps the pointer first and then looks at the
// count; if it is zero, every reader that could still hold an old pointer has
// left (any reader that counted in later loads the new pointer), so the old
// values can go. If readers keep the count above zero, the old values wait for
// a later publish() or the destructor: readers are never held up.
//
// Written by hand because the alternatives do not fit: a mutex makes readers
// wait for the writer; std::atomic<std::shared_ptr> in libstdc++ 12 spins on a
// lock bit in every load; liburcu needs every reader thread registered.
#include <atomic>
#include <memory>
#include <utility>
#include <vector>

namespace scsipub {

template <class T>
class SnapshotCell {
 public:
  explicit SnapshotCell(T initial) : current_(new T(std::move(initial))) {}
  ~SnapshotCell() { delete current_.load(); }
  SnapshotCell(const SnapshotCell&) = delete;
  SnapshotCell& operator=(const SnapshotCell&) = delete;

  // Calls fn(const T&) with the current value; lock-free.
  template <class Fn>
  decltype(auto) read(Fn&& fn) const {
    readers_.fetch_add(1, std::memory_order_seq_cst);
    struct Leave {
      std::atomic<uint64_t>& n;
      ~Leave() { n.fetch_sub(1, std::memory_order_release); }
    } leave{readers_};
    return std::forward<Fn>(fn)(*current_.load(std::memory_order_seq_cst));
  }

  // Replaces the value. Callers serialise publish() among themselves.
  void publish(T value) {
    const T* old = current_.exchange(new T(std::move(value)), std::memory_order_seq_cst);
    retired_.emplace_back(old);
    // A few looks, no waiting: reader sections are a handful of
    // instructions, so a zero count comes by quickly unless readers overlap
    // all the time -- then the next publish() tries again.
    for (int i = 0; i < kReclaimTries; ++i) {
      if (readers_.load(std::memory_order_seq_cst) == 0) {
        retired_.clear();
        return;
      }
    }
  }

  // Values replaced but not yet freed (for tests).
  size_t retired() const { return retired_.size(); }

 private:
  static constexpr int kReclaimTries = 256;

  mutable std::atomic<uint64_t> readers_{0};
  std::atomic<const T*> current_;
  std::vector<std::unique_ptr<const T>> retired_;  // only the writer touches it
};

}  // namespace scsipub
