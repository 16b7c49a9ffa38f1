#include "control/backup_writer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>

#include "db/sqlite_backup.h"
#include "storage/file_io.h"
#include "storage/sparse_file.h"

namespace scsipub::control {
namespace {

namespace fs = std::filesystem;

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status check_target(const fs::path& dir, const fs::path& partial) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return fail(dir.string() + " exists and is not a directory");
    if (!fs::is_empty(dir, ec)) return fail(dir.string() + " is not empty: back up into a new directory");
  }
  if (fs::exists(partial, ec)) {
    return fail(partial.string() + " exists: an interrupted backup; remove it and try again");
  }
  const fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  if (!fs::is_directory(parent, ec)) return fail(parent.string() + " does not exist");
  if (::access(parent.c_str(), W_OK | X_OK) != 0) {
    return fail(fmt::format("cannot write into {}: {}", parent.string(), std::strerror(errno)));
  }
  return ok_status();
}

// Runs `copy` with the writes of every live LUN paused, outermost first.
Status with_luns_paused(const std::vector<BackupLunSource>& luns, size_t i, const std::function<Status()>& copy) {
  if (i == luns.size()) return copy();
  if (!luns[i].live) return with_luns_paused(luns, i + 1, copy);
  return luns[i].live->with_writes_paused([&](storage::IoStatus flushed) -> Status {
    if (flushed != storage::IoStatus::ok) return fail(fmt::format("flush of {} failed", luns[i].overlay.string()));
    return with_luns_paused(luns, i + 1, copy);
  });
}

class Builder {
 public:
  explicit Builder(fs::path root) : root_(std::move(root)) {}

  // Copies `src` to root/rel; the checksum comes later (hash_all), outside
  // any pause.
  Result<uint64_t> copy(const fs::path& src, const std::string& rel) {
    const fs::path dst = root_ / rel;
    std::error_code ec;
    fs::create_directories(dst.parent_path(), ec);
    if (ec) return fail(fmt::format("cannot create {}: {}", dst.parent_path().string(), ec.message()));
    auto c = storage::copy_sparse(src, dst);
    if (!c.ok()) return fail(c.error().message);
    rels_.push_back(rel);
    return c->data_bytes;
  }

  void add_copied(const std::string& rel) { rels_.push_back(rel); }

  Result<std::vector<BackupFile>> hash_all() {
    std::vector<BackupFile> files;
    for (const auto& rel : rels_) {
      auto d = storage::sha256_file(root_ / rel);
      if (!d.ok()) return fail(d.error().message);
      files.push_back({rel, d->size, d->sha256});
    }
    return files;
  }

 private:
  fs::path root_;
  std::vector<std::string> rels_;
};

Status copy_disk(Builder& b, const BackupDiskSource& disk, BackupDiskEntry& entry, const BackupProgress& progress) {
  if (disk.storage != "local") {
    return fail(fmt::format("disk {} is on {} storage, which this build cannot back up yet", disk.id, disk.storage));
  }
  entry.id = disk.id;
  entry.storage = disk.storage;
  const bool live = std::any_of(disk.luns.begin(), disk.luns.end(), [](const auto& l) { return l.live != nullptr; });
  const auto start = std::chrono::steady_clock::now();
  Status st = with_luns_paused(disk.luns, 0, [&]() -> Status {
    for (const auto& lun : disk.luns) {
      for (const fs::path& src : {lun.overlay, fs::path(lun.overlay.string() + ".bitmap")}) {
        const std::string rel = "disks/" + disk.id + "/" + src.filename().string();
        auto n = b.copy(src, rel);
        if (!n.ok()) return fail(fmt::format("disk {}: {}", disk.id, n.error().message));
        entry.data_bytes += *n;
        entry.files.push_back(rel);
      }
    }
    return ok_status();
  });
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  if (!st) return st;
  entry.pause_ms = live ? static_cast<uint64_t>(ms.count()) : 0;
  const double secs = std::max<double>(static_cast<double>(ms.count()), 1.0) / 1000.0;
  progress(fmt::format("disk {}: {} bytes allocated copied in {} ms ({:.0f} MB/s){}", disk.id, entry.data_bytes,
                       ms.count(), static_cast<double>(entry.data_bytes) / 1e6 / secs,
                       live ? ", writes paused meanwhile" : ""));
  return ok_status();
}

Status copy_images(Builder& b, const fs::path& images_dir, const BackupProgress& progress) {
  std::error_code ec;
  if (!fs::exists(images_dir, ec)) {
    progress("images: no catalog directory " + images_dir.string());
    return ok_status();
  }
  size_t copied = 0;
  for (const auto& e : fs::directory_iterator(images_dir, ec)) {
    const std::string name = e.path().filename().string();
    std::error_code fec;
    // Temporary files of an import in progress start with a dot.
    if (name.starts_with(".") || e.is_symlink(fec) || !e.is_regular_file(fec)) continue;
    const std::string rel = "images/" + name;
    if (!valid_backup_path(rel)) {
      progress("images: skipped " + name + " (a name a manifest may not hold)");
      continue;
    }
    auto n = b.copy(e.path(), rel);
    if (!n.ok()) return fail("images: " + n.error().message);
    ++copied;
  }
  if (ec) return fail(fmt::format("images: cannot list {}: {}", images_dir.string(), ec.message()));
  progress(fmt::format("images: {} catalog file(s) copied from {}", copied, images_dir.string()));
  return ok_status();
}

Result<BackupManifest> build(const fs::path& partial, const BackupSources& src, const BackupProgress& progress) {
  BackupManifest m;
  m.created = utc_now();
  m.scsipub_version = src.scsipub_version;
  m.mode = src.mode;
  Builder b(partial);
  // The records first, then the disks listed after them: a disk created in
  // between has files but no record in the copy (an orphan directory a
  // restore carries along); every record in the copy has its files.
  if (!src.sqlite_file.empty()) {
    auto h = db::sqlite_backup(src.sqlite_file, partial / "meta.db");
    if (!h.ok()) return fail(h.error().message);
    m.database = "sqlite";
    m.schema_version = static_cast<int>(h->max);
    b.add_copied("meta.db");
    progress(fmt::format("database: SQLite {} copied (schema {})", src.sqlite_file.string(), h->max));
  } else {
    m.database = "postgresql";
    progress("database: PostgreSQL is external: back it up with pg_dump after this backup (docs/BACKUP.md)");
  }
  for (const auto& disk : src.list_disks ? src.list_disks() : std::vector<BackupDiskSource>{}) {
    BackupDiskEntry entry;
    if (auto st = copy_disk(b, disk, entry, progress); !st) return fail(st.error().message);
    m.disks.push_back(std::move(entry));
  }
  if (!src.images_dir.empty()) {
    m.images = true;
    if (auto st = copy_images(b, src.images_dir, progress); !st) return fail(st.error().message);
  }
  auto files = b.hash_all();
  if (!files.ok()) return fail(files.error().message);
  m.files = std::move(files).value();
  return m;
}

}  // namespace

Result<BackupManifest> write_backup(const fs::path& dir_in, const BackupSources& sources,
                                    const BackupProgress& progress) {
  const fs::path dir = dir_in.has_filename() ? dir_in : dir_in.parent_path();
  const fs::path partial = dir.string() + ".partial";
  if (sources.storage != "local") {
    std::string ids;
    for (const auto& d : sources.list_disks ? sources.list_disks() : std::vector<BackupDiskSource>{}) {
      ids += (ids.empty() ? "" : ", ") + d.id;
    }
    return fail(fmt::format("provisioned disks are on {} storage (disks: {}), which this build cannot back up yet; "
                            "nothing was written",
                            sources.storage, ids.empty() ? "none" : ids));
  }
  if (auto st = check_target(dir, partial); !st) return fail(st.error().message);
  std::error_code ec;
  if (!fs::create_directory(partial, ec) || ec) {
    return fail(fmt::format("cannot create {}: {}", partial.string(), ec ? ec.message() : "exists"));
  }
  fs::permissions(partial, fs::perms::owner_all, ec);
  auto m = build(partial, sources, progress);
  auto cleanup = [&] {
    std::error_code rec;
    fs::remove_all(partial, rec);
  };
  if (!m.ok()) {
    cleanup();
    return fail(m.error().message);
  }
  {
    std::ofstream out(partial / "manifest.json", std::ios::trunc);
    out << manifest_to_json(*m);
    out.close();
    if (!out) {
      cleanup();
      return fail("cannot write " + (partial / "manifest.json").string());
    }
  }
  for (const auto& sub : {partial / "disks", partial / "images", partial}) {
    if (fs::exists(sub, ec)) (void)storage::sync_directory(sub);
  }
  if (fs::exists(dir, ec)) fs::remove(dir, ec);  // empty (checked)
  fs::rename(partial, dir, ec);
  if (ec) {
    cleanup();
    return fail(fmt::format("cannot rename {} to {}: {}", partial.string(), dir.string(), ec.message()));
  }
  const fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  (void)storage::sync_directory(parent);
  return m;
}

}  // namespace scsipub::control
