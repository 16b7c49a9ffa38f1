#include "storage/rbd_backup.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <rbd/librbd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <span>
#include <utility>
#include <vector>

#include "storage/block_store.h"
#include "storage/rbd_images.h"
#include "storage/rbd_store.h"

namespace scsipub::storage {
namespace {

// Bytes read or written per request: RBD's default object size.
constexpr uint64_t kCopyChunk = 4ull << 20;
// The unit of hole detection: a file system block, so a hole left in the
// file is one the file system can really leave unallocated.
constexpr size_t kZeroUnit = 4096;
// Objects whose extents one diff_iterate call lists: bounds the extent list
// (and with fast-diff each call reads the object map once).
constexpr uint64_t kDiffWindowObjects = 256;

std::string errno_text(int err) { return std::strerror(err); }

// A file descriptor closed on every path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error close() may be the first to see.
  int close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

bool all_zero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

// Calls fn(offset in `bytes`, run) for each maximal run of kZeroUnit pieces
// that `wanted(offset, length)` selects; stops at the first failure.
template <class Pred, class Fn>
Status for_each_run(std::span<const uint8_t> bytes, Pred&& wanted, Fn&& fn) {
  auto unit_len = [&](size_t from) { return std::min(kZeroUnit, bytes.size() - from); };
  size_t at = 0;
  while (at < bytes.size()) {
    if (!wanted(at, unit_len(at))) {
      at += unit_len(at);
      continue;
    }
    size_t end = at;
    while (end < bytes.size() && wanted(end, unit_len(end))) end += unit_len(end);
    if (Status s = fn(at, bytes.subspan(at, end - at)); !s) return s;
    at = end;
  }
  return ok_status();
}

// for_each_run over the pieces that are not all zeros.
template <class Fn>
Status for_each_data_run(std::span<const uint8_t> bytes, Fn&& fn) {
  return for_each_run(
      bytes, [&](size_t at, size_t len) { return !all_zero(bytes.subspan(at, len)); }, std::forward<Fn>(fn));
}

Status pwrite_all(int fd, std::span<const uint8_t> bytes, uint64_t offset, const std::string& what) {
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(fmt::format("{}: writing at {}: {}", what, offset, errno_text(n < 0 ? errno : EIO)));
    bytes = bytes.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return ok_status();
}

Status pread_all(int fd, std::span<uint8_t> out, uint64_t offset, const std::string& what) {
  while (!out.empty()) {
    ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(fmt::format("{}: reading at {}: {}", what, offset, errno_text(errno)));
    if (n == 0) return fail(fmt::format("{}: the file ends early, at {}", what, offset));
    out = out.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return ok_status();
}

struct Extent {
  uint64_t offset;
  uint64_t length;
};

int collect_extent(uint64_t offset, size_t length, int exists, void* arg) {
  if (exists != 0 && length > 0) static_cast<std::vector<Extent>*>(arg)->push_back({offset, length});
  return 0;
}

// An image (at a snapshot, or its head) opened read-only: no exclusive
// lock, no watch.
class ReadOnlyImage {
 public:
  ReadOnlyImage() = default;
  ~ReadOnlyImage() {
    if (image_ != nullptr) rbd_close(image_);
  }
  ReadOnlyImage(const ReadOnlyImage&) = delete;
  ReadOnlyImage& operator=(const ReadOnlyImage&) = delete;
  // `snap` null: the image's head.
  int open(RbdCluster& cluster, const std::string& name, const char* snap) {
    return rbd_open_read_only(cluster.ioctx(), name.c_str(), &image_, snap);
  }
  rbd_image_t get() const { return image_; }

 private:
  rbd_image_t image_ = nullptr;
};

// Copies the extents of one window [from, to) of the image into the file.
Status export_window(rbd_image_t image, int fd, uint64_t from, uint64_t to, std::vector<uint8_t>& buf,
                     RbdCopyStats& stats, const std::string& what) {
  // From the beginning of time, parent included (a clone reads its parent's
  // data where it holds no object of its own), whole objects: a superset of
  // the data, answered from the object map when the image has fast-diff.
  // Anything not listed reads as zeros, so the copy is exact either way;
  // the zero check below makes the file as sparse as the data.
  std::vector<Extent> extents;
  int rc = rbd_diff_iterate2(image, nullptr, from, to - from, 1, 1, collect_extent, &extents);
  if (rc < 0) return fail(rbd_error(fmt::format("{}: listing the allocated extents", what), rc));
  for (const Extent& e : extents) {
    const uint64_t start = std::max(e.offset, from);
    const uint64_t end = std::min(e.offset + e.length, to);
    for (uint64_t off = start; off < end; off += kCopyChunk) {
      const auto n = static_cast<size_t>(std::min(kCopyChunk, end - off));
      std::span<uint8_t> chunk(buf.data(), n);
      ssize_t got = rbd_read(image, off, n, reinterpret_cast<char*>(chunk.data()));
      if (got < 0) return fail(rbd_error(fmt::format("{}: reading at {}", what, off), static_cast<int>(got)));
      if (static_cast<size_t>(got) != n) return fail(fmt::format("{}: short read at {}", what, off));
      Status s = for_each_data_run(chunk, [&](size_t at, std::span<const uint8_t> run) -> Status {
        stats.data_bytes += run.size();
        return pwrite_all(fd, run, off + at, what);
      });
      if (!s) return s;
    }
  }
  return ok_status();
}

Status export_into(rbd_image_t image, int fd, RbdCopyStats& stats, const RbdCopyProgress& progress,
                   const std::string& what) {
  rbd_image_info_t info{};
  if (int rc = rbd_stat(image, &info, sizeof(info)); rc < 0) return fail(rbd_error(fmt::format("{}: stat", what), rc));
  if (info.obj_size == 0) return fail(fmt::format("{}: object size 0", what));
  stats.image_bytes = info.size;
  // The size first: the data lands inside it, and trailing zeros stay a hole.
  if (::ftruncate(fd, static_cast<off_t>(info.size)) != 0) {
    return fail(fmt::format("{}: setting the file's size: {}", what, errno_text(errno)));
  }
  std::vector<uint8_t> buf(kCopyChunk);
  const uint64_t window = kDiffWindowObjects * info.obj_size;  // whole objects: no object spans two windows
  for (uint64_t from = 0; from < info.size; from += window) {
    const uint64_t to = std::min(info.size, from + window);
    if (Status s = export_window(image, fd, from, to, buf, stats, what); !s) return s;
    if (progress) progress(to, info.size);
  }
  if (::fsync(fd) != 0) return fail(fmt::format("{}: fsync: {}", what, errno_text(errno)));
  return ok_status();
}

// Writes the file's data extents into the open, locked store.
Status import_from(int fd, uint64_t size, RbdStore& store, RbdCopyStats& stats, const RbdCopyProgress& progress,
                   const std::string& what) {
  std::vector<uint8_t> buf(kCopyChunk);
  uint64_t pos = 0;
  while (pos < size) {
    off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // only a hole is left
    if (data < 0) return fail(fmt::format("{}: SEEK_DATA at {}: {}", what, pos, errno_text(errno)));
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return fail(fmt::format("{}: SEEK_HOLE at {}: {}", what, data, errno_text(errno)));
    // File systems report whole blocks; rounding to 512 keeps every write
    // whole blocks even on one that does not.
    const uint64_t start = static_cast<uint64_t>(data) / kBlockSize * kBlockSize;
    const uint64_t end = std::min(size, (static_cast<uint64_t>(hole) + kBlockSize - 1) / kBlockSize * kBlockSize);
    if (end <= start) break;  // the file changed under us (shrunk): what is left reads zeros
    for (uint64_t off = start; off < end; off += kCopyChunk) {
      const auto n = static_cast<size_t>(std::min(kCopyChunk, end - off));
      std::span<uint8_t> chunk(buf.data(), n);
      if (Status s = pread_all(fd, chunk, off, what); !s) return s;
      Status s = for_each_data_run(chunk, [&](size_t at, std::span<const uint8_t> run) -> Status {
        IoStatus io = store.write((off + at) / kBlockSize, run);
        if (io != IoStatus::ok) return fail(fmt::format("{}: writing the image at {}", what, off + at));
        stats.data_bytes += run.size();
        return ok_status();
      });
      if (!s) return s;
      if (progress) progress(off + n, size);
    }
    pos = end;
  }
  if (store.flush() != IoStatus::ok) return fail(fmt::format("{}: flushing the image", what));
  if (progress) progress(size, size);
  return ok_status();
}

// Writes into the open, locked clone what differs from its parent (open
// read-only at the snapshot the clone hangs from): data where the parent has
// other data or none, and zeros where the file has none but the parent has.
// The whole range is compared: a hole in the file may have to hide parent data.
Status import_into_clone(int fd, uint64_t size, rbd_image_t parent, RbdStore& store, RbdCopyStats& stats,
                         const RbdCopyProgress& progress, const std::string& what) {
  std::vector<uint8_t> buf(kCopyChunk), parent_buf(kCopyChunk);
  for (uint64_t off = 0; off < size; off += kCopyChunk) {
    const auto n = static_cast<size_t>(std::min(kCopyChunk, size - off));
    std::span<uint8_t> chunk(buf.data(), n), base(parent_buf.data(), n);
    off_t data = ::lseek(fd, static_cast<off_t>(off), SEEK_DATA);
    if (data < 0 && errno != ENXIO) return fail(fmt::format("{}: SEEK_DATA at {}: {}", what, off, errno_text(errno)));
    if (data < 0 || static_cast<uint64_t>(data) >= off + n) {
      std::fill(chunk.begin(), chunk.end(), uint8_t{0});  // all hole
    } else if (Status s = pread_all(fd, chunk, off, what); !s) {
      return s;
    }
    ssize_t got = rbd_read(parent, off, n, reinterpret_cast<char*>(base.data()));
    if (got < 0) return fail(rbd_error(fmt::format("{}: reading the parent at {}", what, off), static_cast<int>(got)));
    if (static_cast<size_t>(got) != n) return fail(fmt::format("{}: short read of the parent at {}", what, off));
    Status s = for_each_run(
        chunk,
        [&](size_t at, size_t len) { return std::memcmp(chunk.data() + at, base.data() + at, len) != 0; },
        [&](size_t at, std::span<const uint8_t> run) -> Status {
          IoStatus io = store.write((off + at) / kBlockSize, run);
          if (io != IoStatus::ok) return fail(fmt::format("{}: writing the image at {}", what, off + at));
          stats.data_bytes += run.size();
          return ok_status();
        });
    if (!s) return s;
    if (progress) progress(off + n, size);
  }
  if (store.flush() != IoStatus::ok) return fail(fmt::format("{}: flushing the image", what));
  return ok_status();
}

bool digits(std::string_view s, size_t at, size_t n, int lo, int hi) {
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  return v >= lo && v <= hi;
}

}  // namespace

Result<std::vector<std::string>> rbd_snapshot_names(rbd_image_t image, const std::string& name) {
  // librbd wants room for the snapshots and an end marker, and says how
  // much when the array is too small (-ERANGE).
  int max = 16;
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::vector<rbd_snap_info_t> list(static_cast<size_t>(std::max(max, 1)));
    int rc = rbd_snap_list(image, list.data(), &max);
    if (rc == -ERANGE) continue;
    if (rc < 0) return fail(rbd_error(fmt::format("{}: listing snapshots", name), rc));
    std::vector<std::string> names;
    for (int i = 0; i < rc; ++i) names.emplace_back(list[static_cast<size_t>(i)].name);
    rbd_snap_list_end(list.data());
    return names;
  }
  return fail(fmt::format("{}: listing snapshots: the list keeps growing", name));
}

Status rbd_remove_backup_snapshots(RbdCluster& cluster, const std::string& image) {
  std::vector<std::string> stale;
  {
    ReadOnlyImage head;  // read-only, at the head: no lock, no watch
    int rc = head.open(cluster, image, nullptr);
    if (rc == -ENOENT) return ok_status();
    if (rc < 0) return fail(rbd_error(fmt::format("opening {}", image), rc));
    auto names = rbd_snapshot_names(head.get(), image);
    if (!names.ok()) return fail(names.error().message);
    for (auto& n : names.value()) {
      if (rbd_backup_snapshot_name_ok(n)) stale.push_back(std::move(n));
    }
  }
  if (stale.empty()) return ok_status();
  rbd_image_t handle = nullptr;
  if (int rc = rbd_open(cluster.ioctx(), image.c_str(), &handle, nullptr); rc < 0) {
    return fail(rbd_error(fmt::format("opening {}", image), rc));
  }
  Status result = ok_status();
  for (const auto& snap : stale) {
    int rc = rbd_snap_remove(handle, snap.c_str());
    if (rc < 0 && rc != -ENOENT && result) {
      result = fail(rbd_error(fmt::format("{}: removing snapshot {}", image, snap), rc));
    }
  }
  rbd_close(handle);
  return result;
}

std::string rbd_backup_snapshot_name(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{}{:04}{:02}{:02}T{:02}{:02}{:02}Z", kRbdBackupSnapshotPrefix, tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool rbd_backup_snapshot_name_ok(std::string_view name) {
  if (!name.starts_with(kRbdBackupSnapshotPrefix)) return false;
  const std::string_view stamp = name.substr(kRbdBackupSnapshotPrefix.size());
  // YYYYMMDDTHHMMSSZ
  if (stamp.size() != 16 || stamp[8] != 'T' || stamp[15] != 'Z') return false;
  return digits(stamp, 0, 4, 1970, 9999) && digits(stamp, 4, 2, 1, 12) && digits(stamp, 6, 2, 1, 31) &&
         digits(stamp, 9, 2, 0, 23) && digits(stamp, 11, 2, 0, 59) && digits(stamp, 13, 2, 0, 60);
}

Result<RbdCopyStats> rbd_export_snapshot(RbdCluster& cluster, const std::string& image, const std::string& snapshot,
                                         const std::filesystem::path& path, const RbdCopyProgress& progress) {
  const std::string what = fmt::format("exporting {}@{} to {}", image, snapshot, path.string());
  if (!rbd_name_ok(image)) return fail(fmt::format("'{}' is not a usable RBD image name", image));
  if (!rbd_backup_snapshot_name_ok(snapshot)) return fail(fmt::format("'{}' is not a backup snapshot name", snapshot));
  ReadOnlyImage snap;
  if (int rc = snap.open(cluster, image, snapshot.c_str()); rc < 0) return fail(rbd_error(what, rc));
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return fail(fmt::format("{}: creating the file: {}", what, errno_text(errno)));
  RbdCopyStats stats;
  Status s = export_into(snap.get(), fd.get(), stats, progress, what);
  if (s && fd.close() != 0) s = fail(fmt::format("{}: closing: {}", what, errno_text(errno)));
  if (!s) {
    std::error_code ec;
    std::filesystem::remove(path, ec);  // ours (O_EXCL): never somebody else's file
    return fail(s.error().message);
  }
  return stats;
}

Result<RbdCopyStats> rbd_import_file(const std::shared_ptr<RbdCluster>& cluster, const std::string& image,
                                     const std::filesystem::path& path, const RbdImportOptions& options) {
  const std::string what = fmt::format("importing {} into {}", path.string(), image);
  if (!rbd_name_ok(image)) return fail(fmt::format("'{}' is not a usable RBD image name", image));
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail(fmt::format("{}: {}", what, errno_text(errno)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(fmt::format("{}: {}", what, errno_text(errno)));
  if (!S_ISREG(st.st_mode)) return fail(fmt::format("{}: not a regular file", what));
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size == 0 || size % kBlockSize != 0) {
    return fail(fmt::format("{}: size {} is not whole 512-byte blocks", what, size));
  }
  ReadOnlyImage parent;
  if (!options.clone_of.empty()) {
    const std::string snap(kRbdBaseSnapshot);
    if (int rc = parent.open(*cluster, options.clone_of, snap.c_str()); rc < 0) {
      return fail(rbd_error(fmt::format("{}: opening the parent {}@{}", what, options.clone_of, snap), rc));
    }
    uint64_t parent_size = 0;
    if (int rc = rbd_get_size(parent.get(), &parent_size); rc < 0) {
      return fail(rbd_error(fmt::format("{}: size of {}", what, options.clone_of), rc));
    }
    if (parent_size != size) {
      return fail(fmt::format("{}: the file has {} bytes, the parent {} has {}", what, size, options.clone_of,
                              parent_size));
    }
  }
  auto exists = rbd_image_exists(*cluster, image);
  if (!exists.ok()) return fail(exists.error().message);
  if (exists.value()) return fail(fmt::format("{}: the image exists already (a restore never overwrites)", what));
  // Creation is what claims the name: of two racing imports one gets EEXIST.
  Status created = options.clone_of.empty() ? rbd_create_image(*cluster, image, size)
                                            : rbd_clone_base(*cluster, options.clone_of, image);
  if (!created) return fail(created.error().message);
  RbdCopyStats stats;
  stats.image_bytes = size;
  Status s = [&]() -> Status {
    auto store = RbdStore::open(cluster, image);
    if (!store.ok()) return fail(store.error().message);
    if (!options.clone_of.empty()) {
      return import_into_clone(fd.get(), size, parent.get(), *store.value(), stats, options.progress, what);
    }
    return import_from(fd.get(), size, *store.value(), stats, options.progress, what);
  }();  // the store is closed (lock released) here, before any removal
  if (!s) {
    (void)rbd_remove_image(*cluster, image);  // created above: ours to remove
    return fail(s.error().message);
  }
  return stats;
}

}  // namespace scsipub::storage
