#pragma once
// Space accounting for one open RBD image: which of its objects hold data of
// their own, and the write_limit a provisioned LUN may not grow past.
//
// RBD stores an image as fixed-size objects (4 MiB by default) created on the
// first write to them; a clone's object is created by its first write too
// (copy-up: the parent's object is copied whole into the clone), so space
// grows by whole objects, and that is the granularity counted here.
//
// measure() asks the cluster once, at open (a storage or control thread):
// rbd_diff_iterate2 from the beginning of time, whole objects, without the
// parent, lists the objects the image itself holds. With the object-map and
// fast-diff features (librbd's defaults for new images) that reads the object
// map only, one request whatever the image's size; without them librbd asks
// each object in turn (an image of 16 GiB: 4096 small requests). `rbd du`
// answers from the same walk; diff_iterate gives the objects themselves,
// which the bookkeeping below needs.
//
// After that no write calls the cluster for accounting: admit_write() marks
// the objects a write touches in an in-memory bitmap (one bit per object) and
// refuses, before anything is written, a write whose new objects would take
// the image past write_limit. Like CowOverlay's counter it only grows while
// the image is open: UNMAP (write_zeroes) may give objects back to the pool,
// but they still count until the next open re-measures, so write/unmap cycles
// cannot churn past the limit. On a clone an UNMAP itself can make the clone
// hold objects (note_unmap). A refusal is sticky, as on an overlay: every
// later write is refused too, and the image remembers it in its metadata
// (key scsipub.space_exhausted) so a reopen, on this node or another, keeps
// refusing.
//
// Thread-safe: the RbdStore is shared by every session of a disk.
#include <rbd/librbd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/block_store.h"

namespace scsipub::storage {

// The image metadata key that records a refused write.
inline constexpr std::string_view kRbdSpaceExhaustedKey = "scsipub.space_exhausted";

class RbdAllocation {
 public:
  // `image` stays open (and locked by this client) for the object's life.
  // write_limit: bytes the image may hold of its own; 0 = unlimited.
  static Result<std::unique_ptr<RbdAllocation>> measure(rbd_image_t image, const std::string& name,
                                                        uint64_t write_limit);

  // Before a write of [offset, offset + length): ok, or space_exhausted when
  // the objects it would create take the image past write_limit (nothing is
  // written then). Objects admitted count from here on, even when the write
  // itself fails: the count may overstate, never understate.
  IoStatus admit_write(uint64_t offset, uint64_t length);

  // After an UNMAP of [offset, offset + length). On a clone, write_zeroes
  // makes the clone hold the objects it touches (a copy-up, or an object
  // that hides the parent's data), so they count from here on; UNMAP is never
  // refused, but a later write to a new object is once the count is past
  // the limit. On an image without a parent nothing is added.
  void note_unmap(uint64_t offset, uint64_t length);

  // Bytes the image holds of its own (whole objects; the last object of an
  // image whose size is not a multiple counts its part only).
  uint64_t allocated_bytes() const { return allocated_shared_.load(std::memory_order_relaxed); }
  uint64_t write_limit() const { return write_limit_; }
  uint64_t object_size() const { return object_size_; }
  bool space_exhausted() const;

 private:
  RbdAllocation(rbd_image_t image, uint64_t image_size, uint64_t object_size, uint64_t write_limit, bool clone)
      : image_(image),
        image_size_(image_size),
        object_size_(object_size),
        write_limit_(write_limit),
        clone_(clone),
        objects_((image_size + object_size - 1) / object_size, false) {}
  uint64_t object_bytes(uint64_t object) const;
  // Marks the objects of [offset, offset + length) allocated; the bytes newly counted.
  uint64_t mark(uint64_t offset, uint64_t length);
  // Bytes the objects of [offset, offset + length) not yet counted would add.
  uint64_t unmarked_bytes(uint64_t offset, uint64_t length) const;
  static int on_extent(uint64_t offset, size_t length, int exists, void* self);

  rbd_image_t image_;  // owned by the RbdStore
  const uint64_t image_size_;
  const uint64_t object_size_;
  const uint64_t write_limit_;
  const bool clone_;  // the image has a parent
  mutable std::mutex mutex_;
  std::vector<bool> objects_;  // guarded by mutex_: object n holds data of the image's own
  uint64_t allocated_ = 0;     // guarded by mutex_
  bool exhausted_ = false;     // guarded by mutex_
  std::atomic<uint64_t> allocated_shared_{0};  // mirrors allocated_ for readers on other threads
};

}  // namespace scsipub::storage
