#include "control/provisioned_disks.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>

#include "control/pr_state_mapping.h"
#include "control/target_names.h"
#include "storage/cow_overlay.h"

namespace scsipub::control {
namespace {

constexpr std::string_view kCleanMarker = "clean-shutdown";

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// CHAP secrets: 16 characters of [A-Za-z0-9] (~95 bits), within the 12..16
// bytes the Windows initiator accepts and free of shell metacharacters.
constexpr size_t kChapSecretLength = 16;

ServiceError internal(std::string message) { return {ServiceErrc::internal, std::move(message)}; }

}  // namespace

// ---- ProvisionedDisk ----

ProvisionedDisk::ProvisionedDisk(db::Disk record, std::filesystem::path dir, std::vector<Unit> units)
    : record_(std::move(record)), dir_(std::move(dir)), units_(std::move(units)) {}

ProvisionedDisk::~ProvisionedDisk() {
  const bool deleted = deleted_.load();
  units_.clear();  // closes (and, unless deleted, flushes) the overlays
  if (deleted) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (ec) spdlog::warn("disk {}: cannot remove {}: {}", record_.id, dir_.string(), ec.message());
  }
}

bool ProvisionedDisk::try_add_session(uint32_t max) {
  uint32_t n = sessions_.load();
  do {
    if (n >= max || deleted_.load()) return false;
  } while (!sessions_.compare_exchange_weak(n, n + 1));
  return true;
}

void ProvisionedDisk::remove_session() { sessions_.fetch_sub(1); }

Status ProvisionedDisk::flush() {
  for (size_t i = 0; i < units_.size(); ++i) {
    if (units_[i].store->flush() != storage::IoStatus::ok) {
      return fail(fmt::format("disk {} LUN {}: flush failed", record_.id, i));
    }
  }
  return ok_status();
}

std::vector<uint64_t> ProvisionedDisk::overlay_bytes() const {
  std::vector<uint64_t> out;
  for (const auto& u : units_) {
    out.push_back(u.store->with_inner([](storage::BlockStore& s) {
      return static_cast<storage::CowOverlay&>(s).bytes_written();
    }));
  }
  return out;
}

// ---- identity and paths ----

lu::Identity provisioned_identity(std::string_view disk_id, uint32_t lun, std::string_view image) {
  lu::Identity ident;
  ident.product = image == "blank" ? "DISK" : "IMAGE DISK";
  ident.serial = fmt::format("{}l{}", disk_id, lun);
  ident.naa_id = lu::naa5_identifier(fnv1a64(fmt::format("disk:{}:{}", disk_id, lun)));
  ident.device_name = lu_device_name(disk_target(disk_id), lun);
  return ident;
}

std::filesystem::path provisioned_overlay_path(const std::filesystem::path& disk_dir, uint32_t lun) {
  return disk_dir / fmt::format("lun{}.img", lun);
}

// ---- ProvisionedDisks ----

// A shared LU's reservations: loaded from the MetaStore, and every change
// committed there before the PR OUT's status goes out.
Result<std::unique_ptr<scsi::LuReservations>> ProvisionedDisks::pr_for(const db::LuKey& key, bool fresh) {
  scsi::PrStateValue initial;
  if (!fresh) {
    auto loaded = store_.load_pr_state(key);
    if (!loaded.ok()) return fail(loaded.error().message);
    if (loaded.value()) initial = from_db(*loaded.value());
  }
  db::MetaStore& store = store_;
  auto persist = [&store, key](const scsi::PrStateValue& state) { return store.save_pr_state(key, to_db(state)); };
  return std::make_unique<scsi::LuReservations>(std::move(initial), persist);
}

ProvisionedDisks::ProvisionedDisks(ProvisionedConfig config, db::MetaStore& store, const Tiers& tiers,
                                   BaseLookup bases, SessionTerminator terminate, const Clock& clock,
                                   RandomSource& random)
    : config_(std::move(config)),
      store_(store),
      tiers_(tiers),
      bases_(std::move(bases)),
      terminate_(std::move(terminate)),
      clock_(clock),
      random_(random) {}

ProvisionedDisks::~ProvisionedDisks() = default;

Result<std::shared_ptr<const storage::ImageSource>> ProvisionedDisks::base_for(const std::string& image,
                                                                               uint64_t blank_size) {
  if (image == "blank") return std::shared_ptr<const storage::ImageSource>(std::make_shared<storage::BlankImage>(blank_size));
  return bases_(image);
}

ServiceResult<std::shared_ptr<ProvisionedDisk>> ProvisionedDisks::open_disk(const db::Disk& record,
                                                                            bool create_files) {
  auto dir = config_.disks_dir / record.id;
  std::error_code ec;
  if (create_files) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Unexpected<ServiceError>{internal("cannot create " + dir.string() + ": " + ec.message())};
  }
  const Tier tier = [&] {
    std::lock_guard lock(mu_);
    auto it = account_tier_.find(record.account_id);
    const Tier* t = it == account_tier_.end() ? nullptr : tiers_.find(it->second);
    return t ? *t : Tier{};
  }();
  std::vector<ProvisionedDisk::Unit> units;
  for (uint32_t lun = 0; lun < record.luns.size(); ++lun) {
    const std::string& image = record.luns[lun];
    auto path = provisioned_overlay_path(dir, lun);
    // A blank LUN's size is fixed at creation: the overlay file keeps it,
    // so a later change of the tier's blank_size does not resize old disks.
    uint64_t blank_size = tier.blank_size;
    if (!create_files) {
      auto sz = std::filesystem::file_size(path, ec);
      if (!ec && sz > 0) blank_size = sz;
    }
    auto base = base_for(image, blank_size);
    if (!base.ok()) return Unexpected<ServiceError>{internal(fmt::format("LUN {}: {}", lun, base.error().message))};
    storage::OverlayOptions opts;
    opts.write_limit = record.write_limit;
    auto overlay = create_files ? storage::CowOverlay::create(base.value(), path, opts)
                                : storage::CowOverlay::open(base.value(), path, opts);
    if (!overlay.ok()) {
      return Unexpected<ServiceError>{internal(fmt::format("LUN {} overlay {}: {}", lun, path.string(),
                                                           overlay.error().message))};
    }
    ProvisionedDisk::Unit u;
    u.size_bytes = overlay.value()->block_count() * storage::kBlockSize;
    u.overlay = std::shared_ptr<storage::BlockStore>(std::move(overlay).value());
    u.store = std::make_shared<storage::LockedStore>(u.overlay);
    u.lu = std::make_shared<lu::LogicalUnit>(u.store, provisioned_identity(record.id, lun, image));
    auto reservations = pr_for(db::LuKey{record.id, lun}, create_files);
    if (!reservations.ok()) {
      return Unexpected<ServiceError>{internal(fmt::format("LUN {} reservations: {}", lun, reservations.error().message))};
    }
    u.lu->set_extension(std::move(reservations).value());
    units.push_back(std::move(u));
  }
  return std::make_shared<ProvisionedDisk>(record, dir, std::move(units));
}

Status ProvisionedDisks::load() {
  std::error_code ec;
  std::filesystem::create_directories(config_.disks_dir, ec);
  if (ec) return fail("cannot create " + config_.disks_dir.string() + ": " + ec.message());
  auto marker = config_.disks_dir / kCleanMarker;
  previous_clean_ = std::filesystem::exists(marker, ec);
  std::filesystem::remove(marker, ec);  // from now on this run is the one that must end cleanly

  auto accounts = store_.list_accounts();
  if (!accounts.ok()) return fail("listing accounts: " + accounts.error().message);
  {
    std::lock_guard lock(mu_);
    for (const auto& a : accounts.value()) account_tier_[a.id] = a.tier;
  }
  auto disks = store_.list_disks();
  if (!disks.ok()) return fail("listing disks: " + disks.error().message);
  size_t opened = 0;
  for (const auto& record : disks.value()) {
    auto disk = open_disk(record, false);
    if (!disk.ok()) {
      spdlog::error("disk {}: cannot open, not served: {}", record.id, disk.error().message);
      continue;
    }
    std::lock_guard lock(mu_);
    disks_[record.id] = disk.value();
    ++opened;
  }
  if (!disks.value().empty()) {
    spdlog::info("provisioned disks: {} of {} opened{}", opened, disks.value().size(),
                 previous_clean_ ? "" : " (previous run did not shut down cleanly: data since the last "
                                       "SYNCHRONIZE CACHE may be gone, acknowledged syncs are kept)");
  }
  return ok_status();
}

Status ProvisionedDisks::mark_clean_shutdown() {
  auto marker = config_.disks_dir / kCleanMarker;
  std::ofstream out(marker, std::ios::trunc);
  out << clock_.wall_now().time_since_epoch().count() << "\n";
  out.close();
  if (!out) return fail("cannot write " + marker.string());
  return ok_status();
}

ServiceResult<std::shared_ptr<ProvisionedDisk>> ProvisionedDisks::create(const db::Account& account,
                                                                         const std::vector<std::string>& images) {
  const Tier* tier = tiers_.find(account.tier);
  if (tier == nullptr) {
    return service_error(ServiceErrc::limit_exceeded, fmt::format("tier {} is not configured", account.tier));
  }
  if (images.empty()) return service_error(ServiceErrc::bad_request, "a disk needs at least one LUN");
  if (images.size() > tier->max_luns_per_disk) {
    return service_error(ServiceErrc::limit_exceeded, fmt::format("tier {} allows at most {} LUN(s) per disk",
                                                                  account.tier, tier->max_luns_per_disk));
  }
  for (const auto& image : images) {
    if (image == "blank") continue;
    auto base = bases_(image);
    if (!base.ok()) return service_error(ServiceErrc::bad_request, fmt::format("no image named {}", image));
    if (base.value()->size_bytes() > tier->max_disk_size) {
      return service_error(ServiceErrc::limit_exceeded,
                           fmt::format("image {} is larger than tier {} allows ({} bytes)", image, account.tier,
                                       tier->max_disk_size));
    }
  }

  std::lock_guard change(change_mu_);
  auto owned = store_.list_disks_by_account(account.id);
  if (!owned.ok()) return Unexpected<ServiceError>{internal(owned.error().message)};
  if (owned.value().size() >= tier->max_disks) {
    return service_error(ServiceErrc::limit_exceeded,
                         fmt::format("tier {} allows at most {} disk(s)", account.tier, tier->max_disks));
  }
  {
    std::lock_guard lock(mu_);
    account_tier_[account.id] = account.tier;
  }

  db::Disk record;
  auto id = random_hex(random_, 8);
  auto user = random_hex(random_, 6);
  auto secret = random_alphanumeric(random_, kChapSecretLength);
  auto mutual = random_alphanumeric(random_, kChapSecretLength);
  if (!id.ok() || !user.ok() || !secret.ok() || !mutual.ok()) {
    return Unexpected<ServiceError>{internal("no randomness available")};
  }
  record.id = id.value();
  record.account_id = account.id;
  record.luns = images;
  record.chap_user = "sp" + user.value();
  record.chap_secret = secret.value();
  record.mutual_secret = mutual.value();
  record.write_limit = tier->write_limit;
  record.created = std::chrono::floor<std::chrono::seconds>(clock_.wall_now());
  if (tier->expiry.count() > 0) record.expires = record.created + tier->expiry;

  // Files first, then the record: a crash in between leaves only a directory
  // without a record, which nothing serves.
  auto disk = open_disk(record, true);
  if (!disk.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(config_.disks_dir / record.id, ec);
    return disk;
  }
  if (Status s = disk.value()->flush(); !s) {
    disk.value()->mark_deleted();
    return Unexpected<ServiceError>{internal(s.error().message)};
  }
  if (Status s = store_.create_disk(record); !s) {
    disk.value()->mark_deleted();
    return Unexpected<ServiceError>{internal("storing the disk: " + s.error().message)};
  }
  {
    std::lock_guard lock(mu_);
    disks_[record.id] = disk.value();
  }
  spdlog::info("disk {} created for account {}: {} LUN(s)", record.id, account.id, images.size());
  return disk;
}

ServiceResult<bool> ProvisionedDisks::remove(std::string_view id) {
  std::lock_guard change(change_mu_);
  std::shared_ptr<ProvisionedDisk> disk;
  {
    std::lock_guard lock(mu_);
    auto it = disks_.find(id);
    if (it != disks_.end()) disk = it->second;
  }
  if (disk) {
    disk->mark_deleted();  // no new session gets in from here on
    terminate_(disk_target(id));
  }
  auto removed = store_.delete_disk(id);
  if (!removed.ok()) {
    return Unexpected<ServiceError>{internal("deleting the disk record: " + removed.error().message)};
  }
  {
    std::lock_guard lock(mu_);
    disks_.erase(std::string(id));
  }
  if (!disk) return removed.value();
  spdlog::info("disk {} deleted", id);
  return true;  // the files go when the last session lets go of `disk`
}

size_t ProvisionedDisks::remove_expired(std::chrono::sys_seconds now) {
  std::vector<std::string> expired;
  for (const auto& d : all()) {
    if (d->record().expires && *d->record().expires <= now) expired.push_back(d->record().id);
  }
  size_t n = 0;
  for (const auto& id : expired) {
    auto r = remove(id);
    if (r.ok() && r.value()) {
      spdlog::info("disk {} expired and was removed", id);
      ++n;
    } else if (!r.ok()) {
      spdlog::warn("disk {} expired but could not be removed: {}", id, r.error().message);
    }
  }
  return n;
}

std::shared_ptr<ProvisionedDisk> ProvisionedDisks::find(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = disks_.find(id);
  return it == disks_.end() ? nullptr : it->second;
}

std::shared_ptr<ProvisionedDisk> ProvisionedDisks::find_by_chap_user(std::string_view user) const {
  std::lock_guard lock(mu_);
  for (const auto& [id, d] : disks_) {
    if (d->record().chap_user == user) return d;
  }
  return nullptr;
}

std::vector<std::shared_ptr<ProvisionedDisk>> ProvisionedDisks::list_by_account(std::string_view account_id) const {
  std::vector<std::shared_ptr<ProvisionedDisk>> out;
  std::lock_guard lock(mu_);
  for (const auto& [id, d] : disks_) {
    if (d->record().account_id == account_id) out.push_back(d);
  }
  return out;
}

std::vector<std::shared_ptr<ProvisionedDisk>> ProvisionedDisks::all() const {
  std::vector<std::shared_ptr<ProvisionedDisk>> out;
  std::lock_guard lock(mu_);
  for (const auto& [id, d] : disks_) out.push_back(d);
  return out;
}

Tier ProvisionedDisks::tier_of(const ProvisionedDisk& disk) const {
  std::lock_guard lock(mu_);
  auto it = account_tier_.find(disk.record().account_id);
  const Tier* t = it == account_tier_.end() ? nullptr : tiers_.find(it->second);
  return t ? *t : Tier{};
}

void ProvisionedDisks::flush_all() {
  for (const auto& d : all()) {
    if (Status s = d->flush(); !s) spdlog::error("{}", s.error().message);
  }
}

}  // namespace scsipub::control
