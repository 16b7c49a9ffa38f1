#pragma once
// Image management in the cluster's pool: what provisioning a disk needs.
// A catalog image is imported once into the pool, snapshotted and the
// snapshot protected (a clone's parent must be); each LUN made from it is a
// copy-on-write clone of that snapshot, so a LUN costs only what it writes.
// Every call may wait on the cluster (bounded by the cluster's op timeout):
// call from a control or storage thread, never an event loop.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/image_source.h"
#include "storage/rbd_cluster.h"

namespace scsipub::storage {

// The snapshot of an imported base that clones hang from.
inline constexpr std::string_view kRbdBaseSnapshot = "base";

// True when the image exists.
Result<bool> rbd_image_exists(RbdCluster& cluster, const std::string& name);
// Size in bytes of an existing image.
Result<uint64_t> rbd_image_size(RbdCluster& cluster, const std::string& name);

// Makes sure `name`@base exists and is protected, importing `source` when the
// image is missing. Safe when several nodes race: each imports under a name
// of its own and renames it into place; the rename is atomic in the pool's
// directory, the loser removes its copy and uses the winner's. A base that
// exists is never rewritten (the name must identify the content).
Status rbd_ensure_base(RbdCluster& cluster, const std::string& name, const ImageSource& source);

// A copy-on-write clone of `parent`@base named `child`.
Status rbd_clone_base(RbdCluster& cluster, const std::string& parent, const std::string& child);
// A new image of `size_bytes` that reads as zeros.
Status rbd_create_image(RbdCluster& cluster, const std::string& name, uint64_t size_bytes);
// Removes the image; a missing image is not an error. Fails while another
// client has it open (its watch is still registered).
Status rbd_remove_image(RbdCluster& cluster, const std::string& name);

// Removes the image after unprotecting and removing its `base` snapshot (an
// imported base or an import's staging copy); fails while another client has
// it open, or while clones hang from the snapshot.
Status rbd_remove_image_and_snapshot(RbdCluster& cluster, const std::string& name);

// Every image name in the pool.
Result<std::vector<std::string>> rbd_list_images(RbdCluster& cluster);

// Who uses an image, and since when it exists.
struct RbdImageUse {
  // Clients that have the image open: every read-write open registers a watch
  // on the image header, and a client that died loses it once the OSDs' watch
  // timeout passes (osd_client_watch_timeout, 30 s by default).
  size_t watchers = 0;
  // Holders of the image's lock (the exclusive lock). A dead client's lock stays until somebody
  // breaks it, so a lock without a watcher is no sign of life.
  size_t lock_owners = 0;
  // When the image was created, by the cluster's clock.
  std::chrono::system_clock::time_point created;
};
// nullopt when the image does not exist (any more).
Result<std::optional<RbdImageUse>> rbd_image_use(RbdCluster& cluster, const std::string& name);

// RBD image names may not hold '/' or '@' (pool and snapshot separators);
// scsipub's names are kept to [A-Za-z0-9._-].
bool rbd_name_ok(std::string_view name);

}  // namespace scsipub::storage
