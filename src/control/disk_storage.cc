#include "control/disk_storage.h"

#include <fmt/format.h>

#include "storage/cow_overlay.h"
#include "storage/locked_store.h"

namespace scsipub::control {

std::filesystem::path provisioned_overlay_path(const std::filesystem::path& disk_dir, uint32_t lun) {
  return disk_dir / fmt::format("lun{}.img", lun);
}

Result<LunStorage> LocalDiskStorage::create_lun(const LunSpec& spec) { return open_or_create(spec, true); }

Result<LunStorage> LocalDiskStorage::open_lun(const LunSpec& spec) { return open_or_create(spec, false); }

Result<LunStorage> LocalDiskStorage::open_or_create(const LunSpec& spec, bool create) {
  const auto dir = disks_dir_ / spec.disk_id;
  const auto path = provisioned_overlay_path(dir, spec.lun);
  std::error_code ec;
  if (create) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  }
  std::shared_ptr<const storage::ImageSource> base;
  if (spec.image == "blank") {
    // A blank LUN's size is fixed at creation: the overlay file keeps it, so a
    // later change of the tier's blank_size does not resize old disks.
    uint64_t size = spec.blank_size;
    if (!create) {
      auto on_disk = std::filesystem::file_size(path, ec);
      if (!ec && on_disk > 0) size = on_disk;
    }
    base = std::make_shared<storage::BlankImage>(size);
  } else {
    auto found = bases_(spec.image);
    if (!found.ok()) return fail(found.error().message);
    base = found.value();
  }
  storage::OverlayOptions opts;
  opts.write_limit = spec.write_limit;
  auto overlay = create ? storage::CowOverlay::create(base, path, opts) : storage::CowOverlay::open(base, path, opts);
  if (!overlay.ok()) return fail(fmt::format("overlay {}: {}", path.string(), overlay.error().message));
  auto locked = std::make_shared<storage::LockedStore>(std::shared_ptr<storage::BlockStore>(std::move(overlay).value()));
  LunStorage out;
  out.store = locked;
  // The LockedStore keeps the overlay alive; a weak reference keeps the
  // counter from extending its life.
  std::weak_ptr<storage::LockedStore> weak = locked;
  out.bytes_written = [weak]() -> uint64_t {
    auto s = weak.lock();
    if (!s) return 0;
    return s->with_inner([](storage::BlockStore& inner) { return static_cast<storage::CowOverlay&>(inner).bytes_written(); });
  };
  return out;
}

Status LocalDiskStorage::remove_disk(std::string_view disk_id, uint32_t /*luns*/) {
  if (disk_id.empty()) return fail("no disk id");  // never remove disks_dir itself
  const auto dir = disks_dir_ / std::string(disk_id);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return fail(fmt::format("cannot remove {}: {}", dir.string(), ec.message()));
  return ok_status();
}

}  // namespace scsipub::control
