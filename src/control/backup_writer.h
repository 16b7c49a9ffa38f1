#pragma once
// Writes a backup directory: the MetaStore's SQLite file (online backup
// API), every provisioned disk's LUN files copied sparsely, optionally the
// catalog's image files, and manifest.json with every file's SHA-256. The
// directory is built as DIR.partial and renamed to DIR only once complete,
// so a half backup never looks like one.
//
// A disk that is open in this process (the server) is copied with its writes
// paused: each LUN's LockedStore holds new writes back, waits for those under
// way, flushes data then maps, and lets reads go on while the files are
// copied; the pause is measured per disk. Disks on other storage (Ceph RBD)
// are refused before anything is written.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/backup_manifest.h"
#include "storage/locked_store.h"

namespace scsipub::control {

struct BackupLunSource {
  std::filesystem::path overlay;  // lun<N>.img; its map is overlay + ".bitmap"
  // The live store when the disk is open in this process: writes pause on
  // it. Null when nobody writes the files (offline, or a disk not open).
  std::shared_ptr<storage::LockedStore> live;
};

struct BackupDiskSource {
  std::string id;
  std::string storage;  // DiskStorage::kind(): only "local" can be copied here
  std::vector<BackupLunSource> luns;
};

struct BackupSources {
  std::string scsipub_version;
  std::string mode;                      // "online" / "offline"
  std::filesystem::path sqlite_file;     // empty: the database is PostgreSQL (external)
  // DiskStorage::kind() of the provisioned disks: "local" (anything else is
  // refused up front, naming the storage; a disk of another kind in the list
  // fails the backup naming the disk).
  std::string storage = "local";
  // Called after the database is copied, so every record in the copy has its
  // disk's files in the backup.
  std::function<std::vector<BackupDiskSource>()> list_disks;
  std::filesystem::path images_dir;      // empty: images not included
};

using BackupProgress = std::function<void(const std::string& line)>;

// Refuses, before writing anything: DIR exists and is not empty, DIR.partial
// exists (an interrupted backup: remove it), the parent is missing or not
// writable, a disk not on local storage.
Result<BackupManifest> write_backup(const std::filesystem::path& dir, const BackupSources& sources,
                                    const BackupProgress& progress);

}  // namespace scsipub::control
