#pragma once
// Provisioned disks (the paid tier): disks that belong to an account, outlive
// every connection and every restart of the process. Each LUN is one shared
// logical unit over a persistent copy-on-write overlay in
// <disks_dir>/<disk id>/lun<N>.img; every session that logs in to the disk
// attaches to the same units and sees the others' writes. The MetaStore holds
// the records; the overlays hold the data. Free-tier overlays live elsewhere
// (the janitor's directory), so the janitor can never touch these.
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
#include "control/random_source.h"
#include "control/tiers.h"
#include "db/meta_store.h"
#include "lu/logical_unit.h"
#include "scsi/lu_reservations.h"
#include "storage/image_source.h"
#include "storage/locked_store.h"

namespace scsipub::control {

// A catalog image's read-only base, or an error when it is gone.
using BaseLookup = std::function<Result<std::shared_ptr<const storage::ImageSource>>(const std::string& image)>;
// Ends every session logged in to `target_name` (from any thread).
using SessionTerminator = std::function<void(std::string_view target_name)>;

// One provisioned disk at run time. Shared by the registry and by every
// session bound to it; when it has been deleted, the last owner to let go
// removes its directory.
class ProvisionedDisk {
 public:
  struct Unit {
    std::shared_ptr<lu::LogicalUnit> lu;
    std::shared_ptr<storage::LockedStore> store;
    std::shared_ptr<storage::BlockStore> overlay;  // the CowOverlay under the lock
    uint64_t size_bytes = 0;
  };

  ProvisionedDisk(db::Disk record, std::filesystem::path dir, std::vector<Unit> units);
  ~ProvisionedDisk();
  ProvisionedDisk(const ProvisionedDisk&) = delete;
  ProvisionedDisk& operator=(const ProvisionedDisk&) = delete;

  const db::Disk& record() const { return record_; }
  const std::vector<Unit>& units() const { return units_; }
  const std::filesystem::path& dir() const { return dir_; }

  // Session admission: false when `max` sessions are already attached or the
  // disk is being deleted.
  bool try_add_session(uint32_t max);
  void remove_session();
  uint32_t sessions() const { return sessions_.load(); }

  void mark_deleted() { deleted_.store(true); }
  bool deleted() const { return deleted_.load(); }
  // Makes every acknowledged write and the overlay maps durable.
  Status flush();
  // Bytes each LUN's overlay has taken on so far (write_limit accounting).
  std::vector<uint64_t> overlay_bytes() const;

 private:
  db::Disk record_;
  std::filesystem::path dir_;
  std::vector<Unit> units_;
  std::atomic<uint32_t> sessions_{0};
  std::atomic<bool> deleted_{false};
};

struct ProvisionedConfig {
  std::filesystem::path disks_dir;  // <data_dir>/disks
};

class ProvisionedDisks {
 public:
  // `clock` (creation dates, the shutdown marker) and `random` (disk ids,
  // CHAP users and secrets) outlive the registry.
  ProvisionedDisks(ProvisionedConfig config, db::MetaStore& store, const Tiers& tiers, BaseLookup bases,
                   SessionTerminator terminate, const Clock& clock, RandomSource& random);
  ~ProvisionedDisks();

  // At start: opens every disk the MetaStore knows, reusing its overlays.
  // A disk that cannot be opened is logged and left out (its data is kept).
  // Also reports whether the previous run shut down cleanly.
  Status load();
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
  ServiceResult<std::shared_ptr<ProvisionedDisk>> open_disk(const db::Disk& record, bool create_files);
  Result<std::shared_ptr<const storage::ImageSource>> base_for(const std::string& image, uint64_t blank_size);
  Result<std::unique_ptr<scsi::LuReservations>> pr_for(const db::LuKey& key, bool fresh);

  ProvisionedConfig config_;
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
// "<dir>/lun<N>.img"
std::filesystem::path provisioned_overlay_path(const std::filesystem::path& disk_dir, uint32_t lun);

}  // namespace scsipub::control
