#include "storage/rbd_allocation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "storage/rbd_cluster.h"

namespace scsipub::storage {

Result<std::unique_ptr<RbdAllocation>> RbdAllocation::measure(rbd_image_t image, const std::string& name,
                                                              uint64_t write_limit) {
  rbd_image_info_t info{};
  if (int rc = rbd_stat(image, &info, sizeof(info)); rc < 0) return fail(rbd_error(fmt::format("stat of {}", name), rc));
  if (info.obj_size == 0) return fail(fmt::format("{}: object size 0", name));
  rbd_linked_image_spec_t parent{};
  rbd_snap_spec_t parent_snap{};
  int rc = rbd_get_parent(image, &parent, &parent_snap);
  if (rc == 0) {
    rbd_linked_image_spec_cleanup(&parent);
    rbd_snap_spec_cleanup(&parent_snap);
  } else if (rc != -ENOENT) {
    return fail(rbd_error(fmt::format("{}: parent", name), rc));
  }
  std::unique_ptr<RbdAllocation> a(new RbdAllocation(image, info.size, info.obj_size, write_limit, rc == 0));

  // From the beginning of time (no snapshot), whole objects, the image's own
  // objects only (include_parent 0: a clone's parent data costs it nothing).
  rc = rbd_diff_iterate2(image, nullptr, 0, info.size, 0, 1, &RbdAllocation::on_extent, a.get());
  if (rc < 0) return fail(rbd_error(fmt::format("{}: measuring allocated objects", name), rc));
  a->allocated_shared_.store(a->allocated_, std::memory_order_relaxed);

  char value[8] = {};
  size_t value_len = sizeof(value);
  const std::string key(kRbdSpaceExhaustedKey);
  rc = rbd_metadata_get(image, key.c_str(), value, &value_len);
  // -ERANGE: present with a longer value than ours; set all the same.
  if (rc == 0 || rc == -ERANGE) {
    a->exhausted_ = true;
  } else if (rc != -ENOENT) {
    return fail(rbd_error(fmt::format("{}: reading metadata {}", name, key), rc));
  }
  return a;
}

int RbdAllocation::on_extent(uint64_t offset, size_t length, int exists, void* self) {
  if (exists != 0 && length > 0) static_cast<RbdAllocation*>(self)->mark(offset, length);
  return 0;
}

uint64_t RbdAllocation::object_bytes(uint64_t object) const {
  const uint64_t start = object * object_size_;
  return std::min(object_size_, image_size_ - start);
}

uint64_t RbdAllocation::mark(uint64_t offset, uint64_t length) {
  if (length == 0 || offset >= image_size_) return 0;
  const uint64_t last = (std::min(offset + length, image_size_) - 1) / object_size_;
  uint64_t added = 0;
  for (uint64_t obj = offset / object_size_; obj <= last; ++obj) {
    if (objects_[obj]) continue;
    objects_[obj] = true;
    added += object_bytes(obj);
  }
  allocated_ += added;
  return added;
}

uint64_t RbdAllocation::unmarked_bytes(uint64_t offset, uint64_t length) const {
  if (length == 0 || offset >= image_size_) return 0;
  const uint64_t last = (std::min(offset + length, image_size_) - 1) / object_size_;
  uint64_t bytes = 0;
  for (uint64_t obj = offset / object_size_; obj <= last; ++obj) {
    if (!objects_[obj]) bytes += object_bytes(obj);
  }
  return bytes;
}

IoStatus RbdAllocation::admit_write(uint64_t offset, uint64_t length) {
  std::lock_guard lock(mutex_);
  if (exhausted_) return IoStatus::space_exhausted;
  if (write_limit_ != 0 && allocated_ + unmarked_bytes(offset, length) > write_limit_) {
    exhausted_ = true;
    // Remembered in the image so a reopen (here or on the next owner) keeps
    // refusing, as an overlay's stored header does. Best effort: a failure
    // only means the refusal lasts until the image is closed.
    const std::string key(kRbdSpaceExhaustedKey);
    (void)rbd_metadata_set(image_, key.c_str(), "1");
    return IoStatus::space_exhausted;
  }
  if (mark(offset, length) != 0) allocated_shared_.store(allocated_, std::memory_order_relaxed);
  return IoStatus::ok;
}

void RbdAllocation::note_unmap(uint64_t offset, uint64_t length) {
  if (!clone_) return;
  std::lock_guard lock(mutex_);
  if (mark(offset, length) != 0) allocated_shared_.store(allocated_, std::memory_order_relaxed);
}

bool RbdAllocation::space_exhausted() const {
  std::lock_guard lock(mutex_);
  return exhausted_;
}

}  // namespace scsipub::storage
