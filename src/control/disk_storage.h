#pragma once
// Where a provisioned disk's LUN data lives. ProvisionedDisks creates, opens
// and removes LUN storage only through this, so the same registry serves
// disks from local copy-on-write files (one node) or from Ceph RBD images
// (a fleet, where any node may open a disk after its owner died).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "common/result.h"
#include "storage/block_store.h"
#include "storage/image_source.h"

namespace scsipub::storage {
class RbdStore;  // storage/rbd_store.h, built only with librbd
}  // namespace scsipub::storage

namespace scsipub::control {

// A catalog image's read-only base, or an error when it is gone.
using BaseLookup = std::function<Result<std::shared_ptr<const storage::ImageSource>>(const std::string& image)>;

struct LunSpec {
  std::string disk_id;
  uint32_t lun = 0;
  std::string image;        // a catalog image name, or "blank"
  uint64_t blank_size = 0;  // bytes of a new blank LUN (an existing one keeps its size)
  uint64_t write_limit = 0; // bytes the LUN may newly take on; 0 = unlimited (where enforced)
};

struct LunStorage {
  // Shared by every session of the disk, from several threads at once.
  std::shared_ptr<storage::BlockStore> store;
  // Bytes written so far, as counted against write_limit.
  std::function<uint64_t()> bytes_written;
  // The same store when the LUN is an RBD image (empty otherwise): a backup
  // snapshots it through this handle, which holds the image's lock. Weak:
  // only `store` decides when the image closes (a fleet hands a disk over
  // by closing it), so a backup locks it for one call at a time.
  std::weak_ptr<storage::RbdStore> rbd;
};

// What one orphan sweep found.
struct OrphanSweep {
  size_t removed = 0;  // storage of no disk (or an interrupted import), removed
  size_t in_use = 0;   // of no disk but open by some client: kept
  size_t young = 0;    // of no disk but younger than the grace period: kept
  size_t failed = 0;   // removal refused (logged)
};

// The id of every disk the MetaStore holds now.
using DiskIdsReader = std::function<Result<std::set<std::string, std::less<>>>()>;

class DiskStorage {
 public:
  virtual ~DiskStorage() = default;

  // "local" or "rbd", for logs and the operator.
  virtual std::string_view kind() const = 0;
  // New storage for LUN `spec.lun` of a disk being created; fails when it
  // already exists.
  virtual Result<LunStorage> create_lun(const LunSpec& spec) = 0;
  // The storage of an existing LUN, as the last flush left it.
  virtual Result<LunStorage> open_lun(const LunSpec& spec) = 0;
  // Removes every LUN's storage of a deleted disk (called once none is open).
  // Pieces already gone are not an error.
  virtual Status remove_disk(std::string_view disk_id, uint32_t luns) = 0;

  // This node's storage client address, by which another node fences it
  // ("" when the storage is not shared between nodes).
  virtual std::string client_address() const { return {}; }
  // Stops the client at `client_address` from ever writing again (a disk's
  // previous owner, before this node opens the disk). No-op for local storage.
  virtual Status fence(std::string_view /*client_address*/) { return ok_status(); }

  // Removes storage that belongs to no disk record: a crash between creating
  // a disk's storage and storing its record, a deletion whose owner died
  // before removing the storage, an import interrupted by a crash. `records`
  // is read after the storage is listed, so a disk stored in between is seen;
  // storage younger than `grace` is kept (a disk being created right now has
  // storage but no record yet), and so is storage any client has open. Each
  // removal is logged. Local storage: nothing to do (the free tier's janitor
  // sweeps overlay files; a disk's directory is removed with the disk).
  virtual Result<OrphanSweep> sweep_orphans(const DiskIdsReader& /*records*/, std::chrono::seconds /*grace*/) {
    return OrphanSweep{};
  }
};

// Local copy-on-write overlays over the catalog's base files:
// <disks_dir>/<disk id>/lun<N>.img (+ .bitmap), behind a LockedStore.
class LocalDiskStorage final : public DiskStorage {
 public:
  LocalDiskStorage(std::filesystem::path disks_dir, BaseLookup bases)
      : disks_dir_(std::move(disks_dir)), bases_(std::move(bases)) {}

  std::string_view kind() const override { return "local"; }
  Result<LunStorage> create_lun(const LunSpec& spec) override;
  Result<LunStorage> open_lun(const LunSpec& spec) override;
  Status remove_disk(std::string_view disk_id, uint32_t luns) override;

 private:
  Result<LunStorage> open_or_create(const LunSpec& spec, bool create);

  std::filesystem::path disks_dir_;
  BaseLookup bases_;
};

// "<dir>/lun<N>.img"
std::filesystem::path provisioned_overlay_path(const std::filesystem::path& disk_dir, uint32_t lun);

}  // namespace scsipub::control
