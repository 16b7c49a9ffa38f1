#include "control/backup_restore.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "db/migrations.h"
#include "db/sqlite_backup.h"
#include "storage/file_io.h"
#include "storage/sparse_file.h"

namespace scsipub::control {
namespace {

namespace fs = std::filesystem;

// root/rel, every component below root checked with lstat: directories on
// the way, a regular file at the end, no symlink anywhere.
Status check_no_symlinks(const fs::path& root, const std::string& rel) {
  fs::path p = root;
  const fs::path relp(rel);
  size_t n = static_cast<size_t>(std::distance(relp.begin(), relp.end()));
  size_t i = 0;
  for (const auto& part : relp) {
    p /= part;
    struct stat st{};
    if (::lstat(p.c_str(), &st) != 0) return fail(fmt::format("{}: missing", rel));
    if (S_ISLNK(st.st_mode)) return fail(fmt::format("{}: a symlink (refused)", rel));
    const bool last = ++i == n;
    if (last ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode)) return fail(fmt::format("{}: not a regular file", rel));
  }
  return ok_status();
}

Status empty_or_absent(const fs::path& p, const char* what) {
  std::error_code ec;
  if (!fs::exists(p, ec)) return ok_status();
  if (!fs::is_directory(p, ec)) return fail(fmt::format("{} {} exists and is not a directory", what, p.string()));
  // The data dir lock file (taken before this check) does not count.
  for (const auto& e : fs::directory_iterator(p, ec)) {
    if (e.path().filename() != "scsipub.lock") {
      return fail(fmt::format("{} {} is not empty: restore into an empty one", what, p.string()));
    }
  }
  return ok_status();
}

}  // namespace

Result<BackupManifest> verify_backup(const fs::path& dir, const RestoreProgress& progress) {
  const fs::path mpath = dir / "manifest.json";
  struct stat st{};
  if (::lstat(mpath.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return fail(fmt::format("{}: no manifest.json (not a backup, or an incomplete one)", dir.string()));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxManifestBytes) return fail("manifest.json is larger than 16 MiB");
  std::ifstream in(mpath, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto m = parse_manifest(text);
  if (!m.ok()) return fail(m.error().message);
  for (const auto& f : m->files) {
    if (auto s = check_no_symlinks(dir, f.path); !s) return fail(s.error().message);
    auto d = storage::sha256_file(dir / f.path);
    if (!d.ok()) return fail(d.error().message);
    if (d->size != f.size) return fail(fmt::format("{}: {} bytes, the manifest says {}", f.path, d->size, f.size));
    if (d->sha256 != f.sha256) return fail(fmt::format("{}: checksum mismatch (the backup is damaged)", f.path));
  }
  progress(fmt::format("verified {} file(s) of the backup of {} ({})", m->files.size(), m->created, m->mode));
  if (m->database == "sqlite") {
    auto h = db::sqlite_migration_history(dir / "meta.db");
    if (!h.ok()) return fail("meta.db: " + h.error().message);
    if (auto why = db::migration_history_problem(*h)) return fail("meta.db: " + *why);
    if (h->max != m->schema_version) {
      return fail(fmt::format("meta.db holds schema {}, the manifest says {}", h->max, m->schema_version));
    }
  }
  return m;
}

Result<BackupManifest> restore_backup(const fs::path& dir, const RestoreTarget& target,
                                      const RestoreProgress& progress) {
  auto m = verify_backup(dir, progress);
  if (!m.ok()) return m;
  if (m->database == "sqlite" && target.sqlite_file.empty()) {
    return fail("the backup holds a SQLite database but the target is configured for PostgreSQL; "
                "restore onto a SQLite data directory");
  }
  if (auto s = empty_or_absent(target.data_dir, "data directory"); !s) return fail(s.error().message);
  if (m->images) {
    if (auto s = empty_or_absent(target.images_dir, "images directory"); !s) return fail(s.error().message);
  }
  std::error_code ec;
  if (m->database == "sqlite" && fs::exists(target.sqlite_file, ec)) {
    return fail(target.sqlite_file.string() + " exists: restore onto a new database file");
  }
  for (const auto& f : m->files) {
    fs::path dst;
    if (f.path == "meta.db") {
      dst = target.sqlite_file;
    } else if (f.path.starts_with("images/")) {
      dst = target.images_dir / f.path.substr(7);
    } else {
      dst = target.data_dir / f.path;  // disks/<id>/<file>
    }
    fs::create_directories(dst.parent_path(), ec);
    if (ec) return fail(fmt::format("cannot create {}: {}", dst.parent_path().string(), ec.message()));
    auto c = storage::copy_sparse(dir / f.path, dst);
    if (!c.ok()) return fail(c.error().message);
  }
  // The disks were flushed when copied: the restored data dir starts as a
  // clean shutdown left it.
  if (!m->disks.empty()) {
    std::ofstream marker(target.data_dir / "disks" / "clean-shutdown", std::ios::trunc);
    marker << "restored\n";
  }
  for (const auto& d : {target.data_dir / "disks", target.data_dir}) {
    if (fs::exists(d, ec)) (void)storage::sync_directory(d);
  }
  progress(fmt::format("restored {} disk(s) and {} file(s) into {}", m->disks.size(), m->files.size(),
                       target.data_dir.string()));
  if (m->database == "postgresql") {
    progress("the database is not in this backup: restore your pg_dump of it with pg_restore (docs/BACKUP.md)");
  }
  return m;
}

}  // namespace scsipub::control
