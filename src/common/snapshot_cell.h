#pragma once
// A value that many threads read on every command and one writer at a time
// replaces rarely (the persistent-reservation state a cluster holds all day).
// Readers take no lock and never wait: a published value is immutable, and
// read() hands the reader a reference that stays valid until its function
// returns. A replaced value is freed once no reader is inside read().
//
// How a reader stays safe: it counts itself in (in one of two counters, the
// one the epoch names) before loading the pointer and out after using it.
// The writer swaps the pointer first and then looks at the counters; a reader
// that counted in after the swap loads the new pointer, so once each counter
// has been seen at zero after the swap, no reader holds a replaced value.
//
// The writer normally does not wait: it takes a few looks and, if readers
// keep a counter above zero, leaves the replaced values for a later publish().
// So that readers overlapping without a break cannot grow that list without
// bound, a writer holding kMaxRetired values waits for a grace period: it
// flips the epoch (new readers count in the other counter) and waits for the
// old counter to drain, twice, so a reader that read the epoch just before a
// flip is waited for too. Only readers already inside are waited for, and
// their sections are a few instructions: readers still never wait.
//
// Written by hand because the alternatives do not fit: a mutex makes readers
// wait for the writer; std::atomic<std::shared_ptr> in libstdc++ 12 spins on a
// lock bit in every load; liburcu needs every reader thread registered.
#include <atomic>
#include <memory>
#include <thread>
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
    std::atomic<uint64_t>& counter = readers_[epoch_.load(std::memory_order_seq_cst) & 1];
    counter.fetch_add(1, std::memory_order_seq_cst);
    struct Leave {
      std::atomic<uint64_t>& n;
      ~Leave() { n.fetch_sub(1, std::memory_order_release); }
    } leave{counter};
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
      if (no_reader_inside()) {
        retired_.clear();
        return;
      }
    }
    if (retired_.size() < kMaxRetired) return;
    wait_for_readers_to_leave();
    wait_for_readers_to_leave();
    retired_.clear();
  }

  // Values replaced but not yet freed (for tests).
  size_t retired() const { return retired_.size(); }

 private:
  static constexpr int kReclaimTries = 256;
  static constexpr size_t kMaxRetired = 8;

  // Each counter seen at zero after the swap: a reader counted in before
  // that look has left, one counted in after it loads the new pointer.
  bool no_reader_inside() const {
    return readers_[0].load(std::memory_order_seq_cst) == 0 && readers_[1].load(std::memory_order_seq_cst) == 0;
  }

  void wait_for_readers_to_leave() {
    const uint64_t old = epoch_.fetch_add(1, std::memory_order_seq_cst) & 1;
    while (readers_[old].load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
  }

  mutable std::atomic<uint64_t> readers_[2] = {0, 0};
  std::atomic<uint64_t> epoch_{0};
  std::atomic<const T*> current_;
  std::vector<std::unique_ptr<const T>> retired_;  // only the writer touches it
};

}  // namespace scsipub
