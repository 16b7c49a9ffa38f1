#pragma once
// manifest.json of a backup directory: what the backup holds and the
// checksum of every file. Written by BackupWriter, read by restore -- where
// it is hostile input (a backup directory may come from anywhere): parsing
// bounds every field and accepts only relative paths of plain names under
// the known top-level folders, so a manifest can never point outside the
// backup or the data directory it is restored into.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace scsipub::control {

inline constexpr int kBackupFormatVersion = 1;
inline constexpr size_t kMaxManifestBytes = 16u << 20;

struct BackupFile {
  std::string path;  // relative: "meta.db", "disks/<id>/lun0.img", "images/<name>"
  uint64_t size = 0;
  std::string sha256;  // lowercase hex of the content (holes as zeros)
  bool operator==(const BackupFile&) const = default;
};

struct BackupDiskEntry {
  std::string id;
  std::string storage;             // "local"
  std::vector<std::string> files;  // paths in `files` that hold this disk
  uint64_t data_bytes = 0;         // allocated bytes copied
  uint64_t pause_ms = 0;           // how long its writes were held back (0 offline)
  bool operator==(const BackupDiskEntry&) const = default;
};

struct BackupManifest {
  int format = kBackupFormatVersion;
  std::string created;          // UTC, ISO 8601
  std::string scsipub_version;
  std::string mode;             // "online" (through the running server) or "offline"
  // "sqlite": meta.db is in the backup. "postgresql": the database is
  // external (pg_dump it separately; docs/BACKUP.md).
  std::string database;
  int schema_version = 0;       // of meta.db; 0 when the database is external
  bool images = false;          // the catalog's image files are in images/
  std::vector<BackupFile> files;
  std::vector<BackupDiskEntry> disks;
  bool operator==(const BackupManifest&) const = default;
};

std::string manifest_to_json(const BackupManifest& m);
// Rejects: not JSON, an unknown format version, a missing or mistyped field,
// a path that is absolute, has "..", ".", an empty component, a backslash or
// a control character, or sits outside meta.db / disks/<id>/ / images/; a
// path listed twice; a checksum that is not 64 hex digits; a disk naming a
// file that is not listed.
Result<BackupManifest> parse_manifest(std::string_view text);

// A path as the manifest may name it (see parse_manifest).
bool valid_backup_path(std::string_view path);
// A disk id as it may appear in a path: [A-Za-z0-9_-], 1..64 characters.
bool valid_backup_disk_id(std::string_view id);

}  // namespace scsipub::control
