#include "control/rbd_disk_storage.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "storage/rbd_backup.h"
#include "storage/rbd_images.h"
#include "storage/rbd_store.h"

namespace scsipub::control {
namespace {

bool all_of_class(std::string_view s, bool (*ok)(char)) { return !s.empty() && std::all_of(s.begin(), s.end(), ok); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// "<...>.importing.<digits>.<digits>" (rbd_ensure_base's staging names).
bool staging_suffix(std::string_view rest) {
  auto at = rest.rfind(".importing.");
  if (at == std::string_view::npos) return false;
  std::string_view tail = rest.substr(at + std::string_view(".importing.").size());
  auto dot = tail.find('.');
  return dot != std::string_view::npos && all_of_class(tail.substr(0, dot), is_digit) &&
         all_of_class(tail.substr(dot + 1), is_digit);
}

}  // namespace

RbdImageName classify_rbd_image(std::string_view prefix, std::string_view name) {
  RbdImageName out;
  if (!name.starts_with(prefix)) return out;
  std::string_view rest = name.substr(prefix.size());
  if (rest.starts_with("base-")) {
    out.kind = staging_suffix(rest) ? RbdImageName::Kind::staging : RbdImageName::Kind::base;
    return out;
  }
  if (!rest.starts_with("disk-")) return out;
  rest.remove_prefix(std::string_view("disk-").size());
  auto lun = rest.rfind("-lun");
  if (lun == std::string_view::npos) return out;
  std::string_view id = rest.substr(0, lun);
  if (!all_of_class(id, is_alnum) || !all_of_class(rest.substr(lun + 4), is_digit)) return out;
  out.kind = RbdImageName::Kind::lun;
  out.disk_id = std::string(id);
  return out;
}

std::string RbdDiskStorage::lun_image_name(std::string_view disk_id, uint32_t lun) const {
  return fmt::format("{}disk-{}-lun{}", prefix_, disk_id, lun);
}

std::vector<std::string> RbdDiskStorage::disk_image_names(const db::Disk& disk) const {
  std::vector<std::string> names;
  names.reserve(disk.luns.size());
  for (uint32_t lun = 0; lun < disk.luns.size(); ++lun) names.push_back(lun_image_name(disk.id, lun));
  return names;
}

Result<storage::RbdCopyStats> RbdDiskStorage::restore_lun(const LunSpec& spec, const std::filesystem::path& file) {
  const std::string name = lun_image_name(spec.disk_id, spec.lun);
  if (spec.image == "blank") return storage::rbd_import_file(cluster_, name, file);
  std::error_code ec;
  const uint64_t bytes = std::filesystem::file_size(file, ec);
  if (ec) return fail(fmt::format("restoring {} from {}: {}", name, file.string(), ec.message()));
  // The base the LUN was cloned from has the LUN's size in its name.
  const std::string parent = base_image_name(spec.image, bytes);
  std::string why_not;
  auto exists = storage::rbd_image_exists(*cluster_, parent);
  if (!exists.ok()) return fail(exists.error().message);
  if (!exists.value()) {
    auto base = bases_(spec.image);
    if (!base.ok()) {
      why_not = base.error().message;
    } else if (base.value()->block_count() * storage::kBlockSize != bytes) {
      why_not = fmt::format("catalog image {} is not {} bytes now", spec.image, bytes);
    } else if (Status s = storage::rbd_ensure_base(*cluster_, parent, *base.value()); !s) {
      return fail(s.error().message);
    }
  }
  if (!why_not.empty()) {
    spdlog::warn("restoring {}: no base to clone ({}): restoring it as a standalone image, which counts whole "
                 "against write_limit",
                 name, why_not);
    return storage::rbd_import_file(cluster_, name, file);
  }
  return storage::rbd_import_file(cluster_, name, file, storage::RbdImportOptions{.clone_of = parent});
}

// The size is part of the name: a catalog image replaced by a different file
// of the same name gets a base of its own instead of reusing the old content.
std::string RbdDiskStorage::base_image_name(std::string_view image, uint64_t size_bytes) const {
  return fmt::format("{}base-{}-{}", prefix_, image, size_bytes);
}

Result<LunStorage> RbdDiskStorage::create_lun(const LunSpec& spec) {
  const std::string name = lun_image_name(spec.disk_id, spec.lun);
  if (spec.image == "blank") {
    if (Status s = storage::rbd_create_image(*cluster_, name, spec.blank_size); !s) return fail(s.error().message);
  } else {
    auto base = bases_(spec.image);
    if (!base.ok()) return fail(base.error().message);
    // An RBD image is whole blocks; the catalog's partial last block reads zeros.
    const uint64_t bytes = base.value()->block_count() * storage::kBlockSize;
    const std::string parent = base_image_name(spec.image, bytes);
    if (Status s = storage::rbd_ensure_base(*cluster_, parent, *base.value()); !s) return fail(s.error().message);
    if (Status s = storage::rbd_clone_base(*cluster_, parent, name); !s) return fail(s.error().message);
  }
  return open_lun(spec);
}

Result<LunStorage> RbdDiskStorage::open_lun(const LunSpec& spec) {
  // Whoever calls open owns the disk now (the single node, or the lease
  // holder): a lock left by a dead or fenced owner is broken.
  auto store = storage::RbdStore::open(cluster_, lun_image_name(spec.disk_id, spec.lun),
                                       storage::RbdOpenOptions{.take_over = true, .write_limit = spec.write_limit});
  if (!store.ok()) return fail(store.error().message);
  std::shared_ptr<storage::RbdStore> rbd = std::move(store).value();
  LunStorage out;
  out.store = rbd;
  out.rbd = rbd;
  // The figure kept in memory since the open (no cluster call: the dashboard
  // reads it from an event loop). A weak reference: the counter must not
  // keep a closed image open.
  std::weak_ptr<storage::RbdStore> weak = rbd;
  out.bytes_written = [weak]() -> uint64_t {
    auto s = weak.lock();
    return s ? s->allocation().allocated_bytes() : 0;
  };
  return out;
}

Status RbdDiskStorage::remove_disk(std::string_view disk_id, uint32_t luns) {
  Status result = ok_status();
  for (uint32_t lun = 0; lun < luns; ++lun) {
    const std::string name = lun_image_name(disk_id, lun);
    // A backup that died between its snapshot and the cleanup left one
    // behind, and an image with snapshots cannot be removed.
    if (Status s = storage::rbd_remove_backup_snapshots(*cluster_, name); !s) {
      if (result) result = s;
      continue;
    }
    if (Status s = storage::rbd_remove_image(*cluster_, name); !s && result) result = s;
  }
  return result;
}

Status RbdDiskStorage::fence(std::string_view client_address) {
  // Nothing to fence: the previous owner never opened anything, or it was us.
  if (client_address.empty() || client_address == cluster_->client_address()) return ok_status();
  return cluster_->blocklist(client_address);
}

Result<OrphanSweep> RbdDiskStorage::sweep_orphans(const DiskIdsReader& records, std::chrono::seconds grace) {
  // Images first, records second: an image whose record is stored between
  // the two reads is seen with its record.
  auto names = storage::rbd_list_images(*cluster_);
  if (!names.ok()) return fail(names.error().message);
  std::vector<std::string> candidates;
  std::vector<RbdImageName> kinds;
  for (const auto& name : names.value()) {
    RbdImageName kind = classify_rbd_image(prefix_, name);
    if (kind.kind == RbdImageName::Kind::lun || kind.kind == RbdImageName::Kind::staging) {
      candidates.push_back(name);
      kinds.push_back(std::move(kind));
    }
  }
  OrphanSweep out;
  if (candidates.empty()) return out;
  // Without the records nothing is known to be an orphan: remove nothing.
  auto ids = records();
  if (!ids.ok()) return fail("reading the disk records: " + ids.error().message);
  const auto now = std::chrono::system_clock::now();
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::string& name = candidates[i];
    if (kinds[i].kind == RbdImageName::Kind::lun && ids.value().count(kinds[i].disk_id) != 0) continue;
    auto use = storage::rbd_image_use(*cluster_, name);
    if (!use.ok()) {
      spdlog::warn("orphan sweep: {}", use.error().message);
      ++out.failed;
      continue;
    }
    if (!use.value()) continue;  // removed meanwhile (its owner, another node's sweep)
    const auto& u = *use.value();
    // Being created right now (the record follows), or an import under way.
    // Compared with this node's clock: the grace period dwarfs any skew.
    if (now - u.created < grace) {
      ++out.young;
      continue;
    }
    // Open by a live client: the owner of a disk deleted through another
    // node, which removes it itself once closed. A lock without a watcher
    // is a dead client's; librbd's removal breaks it.
    if (u.watchers != 0) {
      ++out.in_use;
      continue;
    }
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - u.created).count();
    // librbd refuses too when a client opened it since (it checks watchers).
    // A LUN may carry a snapshot a dead backup left, which blocks removal.
    Status s = kinds[i].kind == RbdImageName::Kind::staging ? storage::rbd_remove_image_and_snapshot(*cluster_, name)
                                                            : storage::rbd_remove_backup_snapshots(*cluster_, name);
    if (s && kinds[i].kind == RbdImageName::Kind::lun) s = storage::rbd_remove_image(*cluster_, name);
    if (!s) {
      spdlog::warn("orphan sweep: {}", s.error().message);
      ++out.failed;
      continue;
    }
    ++out.removed;
    if (kinds[i].kind == RbdImageName::Kind::staging) {
      spdlog::warn("orphan sweep: removed RBD image {}/{} (an interrupted catalog import, {} s old)",
                   cluster_->pool(), name, age);
    } else {
      spdlog::warn("orphan sweep: removed RBD image {}/{} (no disk {} in the database, {} s old{})", cluster_->pool(),
                   name, kinds[i].disk_id, age, u.lock_owners != 0 ? ", a dead client's lock broken" : "");
    }
  }
  return out;
}

}  // namespace scsipub::control
