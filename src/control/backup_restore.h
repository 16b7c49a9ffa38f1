#pragma once
// Restores a backup directory (backup_writer.h) onto an empty data
// directory, offline. The backup is hostile input until checked: the
// manifest is parsed strictly (backup_manifest.h), every listed file must be
// a regular file reached without symlinks, of the listed size and SHA-256,
// and meta.db's schema must be one this build opens -- all of it before the
// first byte is written. Files are copied sparsely.
#include <filesystem>
#include <functional>
#include <string>

#include "common/result.h"
#include "control/backup_manifest.h"

namespace scsipub::control {

struct RestoreTarget {
  std::filesystem::path data_dir;     // must not exist, or be empty
  std::filesystem::path sqlite_file;  // where meta.db goes; empty: the target uses PostgreSQL
  std::filesystem::path images_dir;   // must not exist, or be empty (when the backup has images)
};

using RestoreProgress = std::function<void(const std::string& line)>;

// Parses and checks the whole backup (nothing is written).
Result<BackupManifest> verify_backup(const std::filesystem::path& backup_dir, const RestoreProgress& progress);

// verify_backup, then the target checks, then the copy.
Result<BackupManifest> restore_backup(const std::filesystem::path& backup_dir, const RestoreTarget& target,
                                      const RestoreProgress& progress);

}  // namespace scsipub::control
