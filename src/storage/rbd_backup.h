#pragma once
// The RBD pieces of a backup: a disk on Ceph is backed up from a snapshot of
// each LUN image, copied out to a sparse file, and restored by copying such a
// file into a new image.
//
//   1. The node that holds a LUN open (its RbdStore, exclusive lock held)
//      snapshots it through that handle: RbdStore::create_snapshot with a name
//      from rbd_backup_snapshot_name(). librbd blocks new writes, waits for
//      the ones in flight and creates the snapshot, so the snapshot holds every
//      write acknowledged before the call; sessions stall only for that
//      (flush + snapshot create, a few milliseconds on a healthy cluster).
//   2. rbd_export_snapshot() copies image@snapshot into a file, from any
//      client: a read-only open at a snapshot takes no lock and registers no
//      watch, so the owner keeps serving (and writing) meanwhile.
//   3. The owner removes the snapshot (RbdStore::remove_snapshot): an image
//      with snapshots cannot be removed, and every write to an object the
//      snapshot shares costs a copy while it exists.
//   4. A restore creates a new image from the file (rbd_import_file).
//
// Every call may wait on the cluster (each request bounded by the cluster's
// op timeout): call from a control or storage thread, never an event loop.
// Memory is bounded by one copy chunk (4 MiB) and the extents of one window
// of objects, whatever the image's size.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <rbd/librbd.h>

#include <vector>

#include "common/result.h"
#include "storage/rbd_cluster.h"

namespace scsipub::storage {

inline constexpr std::string_view kRbdBackupSnapshotPrefix = "scsipub-backup-";

// "scsipub-backup-20261207T231600Z": `when` in UTC, whole seconds.
std::string rbd_backup_snapshot_name(std::chrono::system_clock::time_point when);
// True exactly for the names rbd_backup_snapshot_name makes (prefix, then
// YYYYMMDDTHHMMSSZ with digits in range). RbdStore refuses to create or
// remove any other snapshot, so a backup can never touch the `base` snapshot
// clones hang from, or one an operator made.
bool rbd_backup_snapshot_name_ok(std::string_view name);

// Every snapshot of the open `image` (named `name` in errors), by name.
Result<std::vector<std::string>> rbd_snapshot_names(rbd_image_t image, const std::string& name);

// Removes the backup snapshots (rbd_backup_snapshot_name_ok) a backup that
// died before its cleanup left on `image`: an image with snapshots cannot be
// removed. Other snapshots are left alone; a missing image is not an error.
// Lists them without a lock; only when there are some is the image opened
// for writing (librbd takes its lock for the removal), so call it on an
// image no live client holds open (a disk being removed).
Status rbd_remove_backup_snapshots(RbdCluster& cluster, const std::string& image);

// Bytes copied so far, of the image's size; called after each chunk.
using RbdCopyProgress = std::function<void(uint64_t done_bytes, uint64_t total_bytes)>;

struct RbdCopyStats {
  uint64_t image_bytes = 0;  // the image's (and the file's) size
  uint64_t data_bytes = 0;   // bytes written; the rest reads as zeros (holes)
};

// Writes `image`@`snapshot` to `path`, a new file (never overwritten; mode
// 0600): byte for byte the image as of the snapshot (a clone's parent data
// included), of the image's size, with holes where the image reads zeros
// (all-zero 4 KiB blocks are not written), fsync'd. On failure the partial
// file is removed.
Result<RbdCopyStats> rbd_export_snapshot(RbdCluster& cluster, const std::string& image, const std::string& snapshot,
                                         const std::filesystem::path& path, const RbdCopyProgress& progress = {});

struct RbdImportOptions {
  // "": a new standalone image of the file's size (rbd_create_image, as a
  // blank LUN is made). Otherwise an imported base (rbd_ensure_base) the
  // image becomes a copy-on-write clone of (rbd_clone_base, as a LUN made
  // from a catalog image is), with only what differs from the base written:
  // the restored LUN again costs only what it changed (its write_limit
  // counts its own objects), instead of holding the base's data too. The
  // file must then be exactly the base's size.
  std::string clone_of;
  RbdCopyProgress progress;
};

// Creates the image `image` and writes the file's content into it. A
// standalone image gets only the file's data extents (SEEK_DATA/SEEK_HOLE),
// and of those only the 4 KiB blocks that are not all zeros; a clone gets
// the blocks that differ from its base (the whole file is compared, so
// zeros hide base data where the file has them). The image is held with its
// exclusive lock while written, flushed, then closed. Refuses an image that
// exists already and a file whose size is not whole 512-byte blocks; on
// failure the new image is removed.
Result<RbdCopyStats> rbd_import_file(const std::shared_ptr<RbdCluster>& cluster, const std::string& image,
                                     const std::filesystem::path& path, const RbdImportOptions& options = {});

}  // namespace scsipub::storage
