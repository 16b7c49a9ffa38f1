#include "control/rbd_disk_storage.h"

#include <fmt/format.h>

#include "storage/rbd_images.h"
#include "storage/rbd_store.h"

namespace scsipub::control {

std::string RbdDiskStorage::lun_image_name(std::string_view disk_id, uint32_t lun) const {
  return fmt::format("{}disk-{}-lun{}", prefix_, disk_id, lun);
}

// The size is part of the name: a catalog image replaced by a different file
// of the same name gets a base of its own instead of reusing the old content.
std::string RbdDiskStorage::base_image_name(std::string_view image, uint64_t size_bytes) const {
  return fmt::format("{}base-{}-{}", prefix_, image, size_bytes);
}

Result<LunStorage> RbdDiskStorage::create_lun(const LunSpec& spec) {
  const std::string name = lun_image_name(spec.disk_id, spec.lun);
  if (spec.image == "blank") {
    if (Status s = storage::rbd_create_image(*cluster_, name, spec.blank_size); !s) return fail(s.error().message);
  } else {
    auto base = bases_(spec.image);
    if (!base.ok()) return fail(base.error().message);
    // An RBD image is whole blocks; the catalog's partial last block reads zeros.
    const uint64_t bytes = base.value()->block_count() * storage::kBlockSize;
    const std::string parent = base_image_name(spec.image, bytes);
    if (Status s = storage::rbd_ensure_base(*cluster_, parent, *base.value()); !s) return fail(s.error().message);
    if (Status s = storage::rbd_clone_base(*cluster_, parent, name); !s) return fail(s.error().message);
  }
  return open_lun(spec);
}

Result<LunStorage> RbdDiskStorage::open_lun(const LunSpec& spec) {
  // Whoever calls open owns the disk now (the single node, or the lease
  // holder): a lock left by a dead or fenced owner is broken.
  auto store = storage::RbdStore::open(cluster_, lun_image_name(spec.disk_id, spec.lun),
                                       storage::RbdOpenOptions{.take_over = true, .write_limit = spec.write_limit});
  if (!store.ok()) return fail(store.error().message);
  std::shared_ptr<storage::RbdStore> rbd = std::move(store).value();
  LunStorage out;
  out.store = rbd;
  // The figure kept in memory since the open (no cluster call: the dashboard
  // reads it from an event loop). A weak reference: the counter must not
  // keep a closed image open.
  std::weak_ptr<storage::RbdStore> weak = rbd;
  out.bytes_written = [weak]() -> uint64_t {
    auto s = weak.lock();
    return s ? s->allocation().allocated_bytes() : 0;
  };
  return out;
}

Status RbdDiskStorage::remove_disk(std::string_view disk_id, uint32_t luns) {
  Status result = ok_status();
  for (uint32_t lun = 0; lun < luns; ++lun) {
    if (Status s = storage::rbd_remove_image(*cluster_, lun_image_name(disk_id, lun)); !s && result) result = s;
  }
  return result;
}

Status RbdDiskStorage::fence(std::string_view client_address) {
  // Nothing to fence: the previous owner never opened anything, or it was us.
  if (client_address.empty() || client_address == cluster_->client_address()) return ok_status();
  return cluster_->blocklist(client_address);
}

}  // namespace scsipub::control
