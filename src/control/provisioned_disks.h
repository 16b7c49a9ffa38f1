#pragma once
// Provisioned disks (the paid tier): disks that belong to an account, outlive
// every connection and every restart of the process. Each LUN is one shared
// logical unit over persistent storage a DiskStorage provides (a
// copy-on-write overlay in <disks_dir>/<disk id>/lun<N>.img, or a Ceph RBD
// image); every session that logs in to the disk attaches to the same units
// and sees the others' writes. The MetaStore holds the records; the storage
// holds the data. Free-tier overlays live elsewhere (the janitor's
// directory), so the janitor can never touch these.
//
// In a fleet a disk's storage is open on one node at a time: the registry
// then knows every disk's record (CHAP, SendTargets, tiers) but opens a disk's
// storage only when told this node owns it (open_owned) and closes it when
// the ownership is gone (close_owned).
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/clock.h"
#include "control/disk_service.h"
#include "control/disk_storage.h"
#include "control/random_source.h"
#include "control/storage_reaper.h"
#include "control/tiers.h"
#include "db/meta_store.h"
#include "lu/logical_unit.h"
#include "scsi/lu_reservations.h"
#include "storage/block_store.h"
#include "storage/fenced_store.h"

namespace scsipub::control {

// Ends every session logged in to `target_name` (from any thread).
using SessionTerminator = std::function<void(std::string_view target_name)>;

// One provisioned disk at run time. Shared by the registry and by every
// session bound to it; when it has been deleted, the last owner to let go
// removes its storage. Without units it is a record only: the disk is known
// but its storage is not open on this node (a fleet disk another node owns).
class ProvisionedDisk {
 public:
  struct Unit {
    std::shared_ptr<lu::LogicalUnit> lu;
    std::shared_ptr<storage::BlockStore> store;  // the DiskStorage's, shared by every session
    std::function<uint64_t()> bytes_written;      // counted against write_limit
    // The LUN's RBD image, open with its lock (empty for local storage):
    // what a backup snapshots. `store` may wrap it (a fleet's FencedStore);
    // weak, as in LunStorage.
    std::weak_ptr<storage::RbdStore> rbd;
    uint64_t size_bytes = 0;
  };

  // `storage` removes the units' storage when a deleted disk is let go: on
  // `reaper`'s thread when given, else on the thread that lets go last.
  ProvisionedDisk(db::Disk record, std::filesystem::path dir, std::vector<Unit> units,
                  std::shared_ptr<DiskStorage> storage, std::shared_ptr<StorageReaper> reaper = nullptr);
  ~ProvisionedDisk();
  ProvisionedDisk(const ProvisionedDisk&) = delete;
  ProvisionedDisk& operator=(const ProvisionedDisk&) = delete;

  const db::Disk& record() const { return record_; }
  const std::vector<Unit>& units() const { return units_; }
  const std::filesystem::path& dir() const { return dir_; }

  // Session admission: false when `max` sessions are already attached, the
  // disk is being deleted, or its storage is not open here.
  bool try_add_session(uint32_t max);
  void remove_session();
  uint32_t sessions() const { return sessions_.load(); }

  void mark_deleted() { deleted_.store(true); }
  bool deleted() const { return deleted_.load(); }
  // Storage open on this node and not being closed.
  bool is_open() const { return !units_.empty() && !closed_.load(); }
  // No new session from here on; the storage closes when the last one lets go.
  void mark_closed() { closed_.store(true); }
  // Makes every acknowledged write and the overlay maps durable.
  Status flush();
  // Bytes each LUN's overlay has taken on so far (write_limit accounting).
  std::vector<uint64_t> overlay_bytes() const;

 private:
  db::Disk record_;
  std::filesystem::path dir_;
  std::vector<Unit> units_;
  std::shared_ptr<DiskStorage> storage_;
  std::shared_ptr<StorageReaper> reaper_;
  std::atomic<uint32_t> sessions_{0};
  std::atomic<bool> deleted_{false};
  std::atomic<bool> closed_{false};
};

struct ProvisionedConfig {
  std::filesystem::path disks_dir;  // <data_dir>/disks (the clean-shutdown marker; local LUN files)
  // Where LUN data lives; null = LocalDiskStorage under disks_dir.
  std::shared_ptr<DiskStorage> storage;
  // false (a fleet): load() reads the records only and opens no storage until
  // open_owned() says this node owns the disk.
  bool open_at_load = true;
  // Fleet mode: told the id of every disk created through this node once its
  // record is stored (the keeper claims its lease).
  std::function<void(const std::string&)> created;
};

// What a fleet node serves a disk under (control/fleet_disks.h): a store
// past `deadline` refuses every verb (storage/fenced_store.h), and every PR
// change is saved with the lease's epoch, so a node that lost the disk
// cannot commit one. Empty on a single node.
struct OwnerLease {
  std::shared_ptr<const storage::LeaseDeadline> deadline;
  std::function<Status(const db::LuKey&, const db::PrState&)> save_pr;
};

class ProvisionedDisks {
 public:
  // `clock` (creation dates, the shutdown marker) and `random` (disk ids,
  // CHAP users and secrets) outlive the registry.
  ProvisionedDisks(ProvisionedConfig config, db::MetaStore& store, const Tiers& tiers, BaseLookup bases,
                   SessionTerminator terminate, const Clock& clock, RandomSource& random);
  ~ProvisionedDisks();

  // At start: reads every disk the MetaStore knows and (open_at_load) opens
  // its storage. A disk that cannot be opened is logged and left out (its
  // data is kept). Also reports whether the previous run shut down cleanly.
  Status load();

  // Fleet mode. Opens the storage of a known disk this node now owns (RBD:
  // with the image's exclusive lock); ok when it is open already.
  Status open_owned(std::string_view disk_id, const OwnerLease& lease = {});
  // Ends the disk's sessions and closes its storage (once they let go); the
  // record stays known. No-op when not open.
  void close_owned(std::string_view disk_id);
  bool is_open(std::string_view disk_id) const;
  // Fleet mode: the disk records as the MetaStore has them now (the keeper
  // reads them periodically): disks created on other nodes become known
  // (logins find them and are redirected), disks deleted there are dropped.
  void sync_records(const std::vector<db::Disk>& records);
  DiskStorage& storage() { return *storage_; }
  // Fleet mode: waits until the storage of every deleted disk let go of so
  // far is removed (removal runs on a thread of its own there).
  void wait_removals();
  // Records that every overlay was flushed (called at a clean shutdown).
  Status mark_clean_shutdown();
  bool previous_shutdown_clean() const { return previous_clean_; }

  ServiceResult<std::shared_ptr<ProvisionedDisk>> create(const db::Account& account,
                                                         const std::vector<std::string>& images);
  // Ends the disk's sessions, removes its record, then its files (once the
  // last session has let go). False when no such disk.
  ServiceResult<bool> remove(std::string_view id);
  // Removes every disk whose expiry has passed; returns how many.
  size_t remove_expired(std::chrono::sys_seconds now);

  std::shared_ptr<ProvisionedDisk> find(std::string_view id) const;
  std::shared_ptr<ProvisionedDisk> find_by_chap_user(std::string_view user) const;
  std::vector<std::shared_ptr<ProvisionedDisk>> list_by_account(std::string_view account_id) const;
  std::vector<std::shared_ptr<ProvisionedDisk>> all() const;
  // The tier limits of the disk's owner (nullptr when the tier is no longer
  // configured: the disk keeps serving with the built-in defaults).
  Tier tier_of(const ProvisionedDisk& disk) const;

  // Flushes every disk; logs failures.
  void flush_all();

 private:
  ServiceResult<std::shared_ptr<ProvisionedDisk>> open_disk(const db::Disk& record, bool create_files,
                                                            const OwnerLease& lease = {});
  std::shared_ptr<ProvisionedDisk> record_only(const db::Disk& record) const;
  Status learn_record(std::string_view disk_id);               // caller holds change_mu_
  Status add_records(const std::vector<db::Disk>& records);  // caller holds change_mu_
  Result<std::unique_ptr<scsi::LuReservations>> pr_for(const db::LuKey& key, bool fresh, const OwnerLease& lease);

  ProvisionedConfig config_;
  std::shared_ptr<DiskStorage> storage_;
  // Fleet mode: where deleted disks' storage is closed and removed (never on
  // the keeper's thread or an event loop). Null on a single node.
  std::shared_ptr<StorageReaper> reaper_;
  db::MetaStore& store_;
  const Tiers& tiers_;
  BaseLookup bases_;
  SessionTerminator terminate_;
  const Clock& clock_;
  RandomSource& random_;
  bool previous_clean_ = true;

  std::mutex change_mu_;  // one create/remove at a time (cold path)
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<ProvisionedDisk>, std::less<>> disks_;  // guarded by mu_
  std::map<std::string, std::string, std::less<>> account_tier_;               // guarded by mu_
};

// Stable SCSI identity for LUN `lun` of disk `id`: the same NAA and serial on
// every start, so multipath and cluster software keep recognising the disk.
lu::Identity provisioned_identity(std::string_view disk_id, uint32_t lun, std::string_view image);

}  // namespace scsipub::control
