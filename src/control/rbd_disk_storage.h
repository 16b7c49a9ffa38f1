#pragma once
// Provisioned disks on Ceph RBD: every LUN is an image in the cluster's pool,
// so any node of a fleet can open a disk once it owns it. A catalog image is
// imported into the pool once ("<prefix>base-<name>-<bytes>", snapshot
// "base", protected) and each LUN made from it is a copy-on-write clone
// ("<prefix>disk-<id>-lun<N>"); a blank LUN is a fresh image of the tier's
// blank size. Opening takes the image's exclusive lock; a node that opens a
// disk it now owns takes the lock over from a dead owner, fencing it.
//
// write_limit counts the LUN image's own RBD objects (a clone's parent costs
// nothing), whole objects at a time (storage::RbdAllocation); bytes_written
// reports that figure. The pool's quota bounds the total.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/disk_storage.h"
#include "db/meta_store.h"
#include "storage/rbd_backup.h"
#include "storage/rbd_cluster.h"

namespace scsipub::control {

// What an image name in the pool is to scsipub.
struct RbdImageName {
  enum class Kind : uint8_t { foreign, base, lun, staging };
  Kind kind = Kind::foreign;
  std::string disk_id;  // for `lun`
};
// Parses names made by RbdDiskStorage with `prefix`: "<prefix>disk-<id>-lun<N>"
// (id [A-Za-z0-9]+, N digits), "<prefix>base-<...>" and an import's staging
// copy "<prefix>base-<...>.importing.<client>.<serial>". Anything else is
// foreign and never touched.
RbdImageName classify_rbd_image(std::string_view prefix, std::string_view name);

class RbdDiskStorage final : public DiskStorage {
 public:
  RbdDiskStorage(std::shared_ptr<storage::RbdCluster> cluster, std::string image_prefix, BaseLookup bases)
      : cluster_(std::move(cluster)), prefix_(std::move(image_prefix)), bases_(std::move(bases)) {}

  std::string_view kind() const override { return "rbd"; }
  Result<LunStorage> create_lun(const LunSpec& spec) override;
  Result<LunStorage> open_lun(const LunSpec& spec) override;
  Status remove_disk(std::string_view disk_id, uint32_t luns) override;
  std::string client_address() const override { return cluster_->client_address(); }
  Status fence(std::string_view client_address) override;
  Result<OrphanSweep> sweep_orphans(const DiskIdsReader& records, std::chrono::seconds grace) override;

  std::string lun_image_name(std::string_view disk_id, uint32_t lun) const;
  // The image of each LUN of `disk`, LUN 0 first (what a backup copies and a
  // restore recreates).
  std::vector<std::string> disk_image_names(const db::Disk& disk) const;
  // Restore: makes LUN `spec.lun`'s image from `file` (a backup's copy of
  // it, storage::rbd_export_snapshot) the way create_lun makes it: a blank
  // LUN as a standalone image, a catalog image's LUN as a clone of its base
  // (imported into the pool when missing) holding only what differs from
  // the base. When the base cannot be had (the catalog no longer has the
  // image, or at another size) the LUN is restored standalone, with a
  // warning: the data is the same, but it then counts whole against
  // write_limit. Refuses a LUN image that exists.
  Result<storage::RbdCopyStats> restore_lun(const LunSpec& spec, const std::filesystem::path& file);
  std::string base_image_name(std::string_view image, uint64_t size_bytes) const;

 private:
  std::shared_ptr<storage::RbdCluster> cluster_;
  std::string prefix_;
  BaseLookup bases_;
};

}  // namespace scsipub::control
