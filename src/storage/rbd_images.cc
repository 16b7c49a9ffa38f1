#include "storage/rbd_images.h"

#include <fmt/format.h>
#include <rbd/librbd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace scsipub::storage {
namespace {

// Bytes copied per write while importing; RBD's default object size, so each
// write fills (or, when all zeros, skips) one object.
constexpr uint64_t kImportChunk = 4ull << 20;

// An open image, closed on every path.
class OpenImage {
 public:
  OpenImage() = default;
  ~OpenImage() {
    if (image_ != nullptr) rbd_close(image_);
  }
  OpenImage(const OpenImage&) = delete;
  OpenImage& operator=(const OpenImage&) = delete;
  int open(RbdCluster& cluster, const std::string& name, const char* snap = nullptr) {
    return rbd_open(cluster.ioctx(), name.c_str(), &image_, snap);
  }
  rbd_image_t get() const { return image_; }

 private:
  rbd_image_t image_ = nullptr;
};

bool all_zero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

// Copies `source` into the open image, leaving all-zero chunks unwritten
// (a new image reads zeros there already).
Status copy_into(rbd_image_t image, const ImageSource& source, const std::string& name) {
  std::vector<uint8_t> buf(kImportChunk);
  const uint64_t size = source.block_count() * kBlockSize;
  for (uint64_t off = 0; off < size; off += kImportChunk) {
    const auto n = static_cast<size_t>(std::min<uint64_t>(kImportChunk, size - off));
    std::span<uint8_t> chunk(buf.data(), n);
    if (int err = source.read_at(off, chunk); err != 0) {
      return fail(fmt::format("importing {}: reading the source at {}: errno {}", name, off, err));
    }
    if (all_zero(chunk)) continue;
    ssize_t w = rbd_write(image, off, n, reinterpret_cast<const char*>(chunk.data()));
    if (w < 0) return fail(rbd_error(fmt::format("importing {}: writing at {}", name, off), static_cast<int>(w)));
    if (static_cast<size_t>(w) != n) return fail(fmt::format("importing {}: short write at {}", name, off));
  }
  if (int rc = rbd_flush(image); rc < 0) return fail(rbd_error(fmt::format("importing {}: flush", name), rc));
  return ok_status();
}

// Snapshot + protect on an image nobody else can see yet.
Status snapshot_and_protect(rbd_image_t image, const std::string& name) {
  const std::string snap(kRbdBaseSnapshot);
  if (int rc = rbd_snap_create(image, snap.c_str()); rc < 0) {
    return fail(rbd_error(fmt::format("{}: creating snapshot {}", name, snap), rc));
  }
  if (int rc = rbd_snap_protect(image, snap.c_str()); rc < 0) {
    return fail(rbd_error(fmt::format("{}: protecting snapshot {}", name, snap), rc));
  }
  return ok_status();
}

void discard_image(RbdCluster& cluster, const std::string& name) {
  // A failure leaves a staging image behind, which the orphan sweep removes.
  (void)rbd_remove_image_and_snapshot(cluster, name);
}

}  // namespace

bool rbd_name_ok(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

Result<bool> rbd_image_exists(RbdCluster& cluster, const std::string& name) {
  // A read-only open takes no lock; closed at once.
  rbd_image_t image = nullptr;
  int rc = rbd_open_read_only(cluster.ioctx(), name.c_str(), &image, nullptr);
  if (rc == -ENOENT) return false;
  if (rc < 0) return fail(rbd_error(fmt::format("opening {}", name), rc));
  rbd_close(image);
  return true;
}

Result<uint64_t> rbd_image_size(RbdCluster& cluster, const std::string& name) {
  rbd_image_t image = nullptr;
  int rc = rbd_open_read_only(cluster.ioctx(), name.c_str(), &image, nullptr);
  if (rc < 0) return fail(rbd_error(fmt::format("opening {}", name), rc));
  uint64_t size = 0;
  rc = rbd_get_size(image, &size);
  rbd_close(image);
  if (rc < 0) return fail(rbd_error(fmt::format("size of {}", name), rc));
  return size;
}

Status rbd_ensure_base(RbdCluster& cluster, const std::string& name, const ImageSource& source) {
  if (!rbd_name_ok(name)) return fail(fmt::format("'{}' is not a usable RBD image name", name));
  auto exists = rbd_image_exists(cluster, name);
  if (!exists.ok()) return fail(exists.error().message);
  if (exists.value()) return ok_status();

  // A staging name of this call's own (the client's instance id is unique in
  // the cluster, the serial within the client): nobody else writes it. A node
  // that dies mid-import leaves it behind, disturbing no later import.
  const std::string staging = fmt::format("{}.importing.{}.{}", name, cluster.instance_id(), cluster.next_serial());
  if (Status s = rbd_create_image(cluster, staging, source.block_count() * kBlockSize); !s) return s;
  Status filled = [&]() -> Status {
    OpenImage img;
    if (int rc = img.open(cluster, staging); rc < 0) return fail(rbd_error(fmt::format("opening {}", staging), rc));
    if (Status s = copy_into(img.get(), source, name); !s) return s;
    return snapshot_and_protect(img.get(), staging);
  }();
  if (!filled) {
    discard_image(cluster, staging);
    return filled;
  }
  // The publish step: atomic in the pool's image directory. EEXIST: another
  // node published first; its base holds the same content.
  int rc = rbd_rename(cluster.ioctx(), staging.c_str(), name.c_str());
  if (rc < 0 && rc != -EEXIST) {
    discard_image(cluster, staging);
    return fail(rbd_error(fmt::format("publishing {}", name), rc));
  }
  // librbd 16.2 can also answer 0 to a rename onto an existing name without
  // renaming anything (seen when three clients race): the staging image
  // still being there is what says this call lost.
  auto staged = rbd_image_exists(cluster, staging);
  if (rc == -EEXIST || !staged.ok() || staged.value()) discard_image(cluster, staging);
  auto published = rbd_image_exists(cluster, name);
  if (!published.ok()) return fail(published.error().message);
  if (!published.value()) return fail(fmt::format("publishing {}: the image is not there", name));
  return ok_status();
}

Status rbd_clone_base(RbdCluster& cluster, const std::string& parent, const std::string& child) {
  if (!rbd_name_ok(child)) return fail(fmt::format("'{}' is not a usable RBD image name", child));
  rbd_image_options_t opts = nullptr;
  rbd_image_options_create(&opts);
  const std::string snap(kRbdBaseSnapshot);
  int rc = rbd_clone3(cluster.ioctx(), parent.c_str(), snap.c_str(), cluster.ioctx(), child.c_str(), opts);
  rbd_image_options_destroy(opts);
  if (rc < 0) return fail(rbd_error(fmt::format("cloning {}@{} to {}", parent, snap, child), rc));
  return ok_status();
}

Status rbd_create_image(RbdCluster& cluster, const std::string& name, uint64_t size_bytes) {
  if (!rbd_name_ok(name)) {
    return fail(fmt::format("'{}' is not a usable RBD image name", name));
  }
  rbd_image_options_t opts = nullptr;
  rbd_image_options_create(&opts);
  int rc = rbd_create4(cluster.ioctx(), name.c_str(), size_bytes, opts);
  rbd_image_options_destroy(opts);
  if (rc < 0) return fail(rbd_error(fmt::format("creating {} ({} bytes)", name, size_bytes), rc));
  return ok_status();
}

Status rbd_remove_image(RbdCluster& cluster, const std::string& name) {
  int rc = rbd_remove(cluster.ioctx(), name.c_str());
  if (rc < 0 && rc != -ENOENT) return fail(rbd_error(fmt::format("removing {}", name), rc));
  return ok_status();
}

Status rbd_remove_image_and_snapshot(RbdCluster& cluster, const std::string& name) {
  {
    OpenImage img;
    if (img.open(cluster, name) == 0) {
      const std::string snap(kRbdBaseSnapshot);
      rbd_snap_unprotect(img.get(), snap.c_str());
      rbd_snap_remove(img.get(), snap.c_str());
    }
  }
  return rbd_remove_image(cluster, name);
}

Result<std::vector<std::string>> rbd_list_images(RbdCluster& cluster) {
  // librbd says how many there are when the array is too small (-ERANGE);
  // the pool may grow between two calls, so a few tries.
  size_t max = 64;
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::vector<rbd_image_spec_t> specs(max);
    int rc = rbd_list2(cluster.ioctx(), specs.data(), &max);
    if (rc == -ERANGE) continue;
    if (rc < 0) return fail(rbd_error(fmt::format("listing the images of pool {}", cluster.pool()), rc));
    std::vector<std::string> names;
    names.reserve(max);
    for (size_t i = 0; i < max; ++i) names.emplace_back(specs[i].name);
    rbd_image_spec_list_cleanup(specs.data(), max);
    return names;
  }
  return fail(fmt::format("listing the images of pool {}: it keeps growing", cluster.pool()));
}

Result<std::optional<RbdImageUse>> rbd_image_use(RbdCluster& cluster, const std::string& name) {
  // A read-only open registers no watch of its own and takes no lock: it
  // does not count itself.
  rbd_image_t image = nullptr;
  int rc = rbd_open_read_only(cluster.ioctx(), name.c_str(), &image, nullptr);
  if (rc == -ENOENT) return std::optional<RbdImageUse>{};
  if (rc < 0) return fail(rbd_error(fmt::format("opening {}", name), rc));
  RbdImageUse use;
  Status status = [&]() -> Status {
    timespec created{};
    if (int r = rbd_get_create_timestamp(image, &created); r < 0) {
      return fail(rbd_error(fmt::format("creation time of {}", name), r));
    }
    use.created = std::chrono::system_clock::time_point(std::chrono::seconds(created.tv_sec));
    // -ERANGE: more watchers than the array holds; `count` says how many.
    size_t count = 16;
    int r = -ERANGE;
    for (int attempt = 0; attempt < 4 && r == -ERANGE; ++attempt) {
      std::vector<rbd_image_watcher_t> list(count);
      r = rbd_watchers_list(image, list.data(), &count);
      if (r == 0) rbd_watchers_list_cleanup(list.data(), count);
    }
    if (r < 0 && r != -ERANGE) return fail(rbd_error(fmt::format("watchers of {}", name), r));
    use.watchers = count;  // still -ERANGE: at least this many
    // The exclusive lock is a cls lock on the header that rbd_list_lockers
    // lists (rbd_lock_get_owners refuses a read-only handle). -ERANGE: the
    // buffers are too small, so there is at least one locker.
    int exclusive = 0;
    std::vector<char> tag(256), clients(1024), cookies(1024), addrs(1024);
    size_t tag_len = tag.size(), clients_len = clients.size(), cookies_len = cookies.size(), addrs_len = addrs.size();
    ssize_t lockers = rbd_list_lockers(image, &exclusive, tag.data(), &tag_len, clients.data(), &clients_len,
                                       cookies.data(), &cookies_len, addrs.data(), &addrs_len);
    if (lockers >= 0) {
      use.lock_owners = static_cast<size_t>(lockers);
    } else if (lockers == -ERANGE) {
      use.lock_owners = 1;
    }
    return ok_status();
  }();
  rbd_close(image);
  if (!status) return fail(status.error().message);
  return std::optional<RbdImageUse>(use);
}

}  // namespace scsipub::storage
