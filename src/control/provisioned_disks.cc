#include "control/provisioned_disks.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <set>

#include "control/pr_state_mapping.h"
#include "control/target_names.h"

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

namespace {

// Closes (and, unless deleted, flushes) the units' storage, then removes it.
void close_and_remove(std::vector<ProvisionedDisk::Unit>& units, DiskStorage& storage, const std::string& id,
                      uint32_t luns) {
  units.clear();
  if (Status s = storage.remove_disk(id, luns); !s) {
    spdlog::warn("disk {}: cannot remove its storage: {}", id, s.error().message);
  } else {
    spdlog::info("disk {}: storage removed ({})", id, storage.kind());
  }
}

}  // namespace

ProvisionedDisk::ProvisionedDisk(db::Disk record, std::filesystem::path dir, std::vector<Unit> units,
                                 std::shared_ptr<DiskStorage> storage, std::shared_ptr<StorageReaper> reaper)
    : record_(std::move(record)),
      dir_(std::move(dir)),
      units_(std::move(units)),
      storage_(std::move(storage)),
      reaper_(std::move(reaper)) {}

ProvisionedDisk::~ProvisionedDisk() {
  // Only the object that had the storage open removes it: a record-only copy
  // of a deleted disk leaves the storage to whoever has it open.
  const bool remove = deleted_.load() && !units_.empty() && storage_;
  if (!remove) return;  // units_ closes (and flushes) the storage
  auto luns = static_cast<uint32_t>(record_.luns.size());
  if (reaper_) {
    reaper_->post([units = std::move(units_), storage = storage_, id = record_.id, luns]() mutable {
      close_and_remove(units, *storage, id, luns);
    });
    return;
  }
  close_and_remove(units_, *storage_, record_.id, luns);
}

bool ProvisionedDisk::try_add_session(uint32_t max) {
  uint32_t n = sessions_.load();
  do {
    if (n >= max || deleted_.load() || !is_open()) return false;
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
  for (const auto& u : units_) out.push_back(u.bytes_written ? u.bytes_written() : 0);
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

// ---- ProvisionedDisks ----

// A shared LU's reservations: loaded from the MetaStore, and every change
// committed there before the PR OUT's status goes out.
Result<std::unique_ptr<scsi::LuReservations>> ProvisionedDisks::pr_for(const db::LuKey& key, bool fresh,
                                                                     const OwnerLease& lease) {
  scsi::PrStateValue initial;
  if (!fresh) {
    auto loaded = store_.load_pr_state(key);
    if (!loaded.ok()) return fail(loaded.error().message);
    if (loaded.value()) initial = from_db(*loaded.value());
  }
  scsi::PrPersist persist;
  if (lease.save_pr) {
    persist = [save = lease.save_pr, key](const scsi::PrStateValue& state) { return save(key, to_db(state)); };
  } else {
    persist = [&store = store_, key](const scsi::PrStateValue& state) { return store.save_pr_state(key, to_db(state)); };
  }
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
      random_(random) {
  storage_ = config_.storage ? config_.storage : std::make_shared<LocalDiskStorage>(config_.disks_dir, bases_);
  if (!config_.open_at_load) reaper_ = std::make_shared<StorageReaper>();
}

void ProvisionedDisks::wait_removals() {
  if (reaper_) reaper_->drain();
}

ProvisionedDisks::~ProvisionedDisks() = default;

std::shared_ptr<ProvisionedDisk> ProvisionedDisks::record_only(const db::Disk& record) const {
  return std::make_shared<ProvisionedDisk>(record, config_.disks_dir / record.id, std::vector<ProvisionedDisk::Unit>{},
                                           storage_, reaper_);
}

ServiceResult<std::shared_ptr<ProvisionedDisk>> ProvisionedDisks::open_disk(const db::Disk& record,
                                                                            bool create_files,
                                                                            const OwnerLease& lease) {
  auto dir = config_.disks_dir / record.id;
  const Tier tier = [&] {
    std::lock_guard lock(mu_);
    auto it = account_tier_.find(record.account_id);
    const Tier* t = it == account_tier_.end() ? nullptr : tiers_.find(it->second);
    return t ? *t : Tier{};
  }();
  std::vector<ProvisionedDisk::Unit> units;
  for (uint32_t lun = 0; lun < record.luns.size(); ++lun) {
    const std::string& image = record.luns[lun];
    LunSpec spec{record.id, lun, image, tier.blank_size, record.write_limit};
    auto opened = create_files ? storage_->create_lun(spec) : storage_->open_lun(spec);
    if (!opened.ok()) {
      return Unexpected<ServiceError>{internal(fmt::format("LUN {} ({} storage): {}", lun, storage_->kind(),
                                                           opened.error().message))};
    }
    ProvisionedDisk::Unit u;
    u.store = std::move(opened.value().store);
    u.rbd = opened.value().rbd;
    if (lease.deadline) u.store = std::make_shared<storage::FencedStore>(std::move(u.store), lease.deadline);
    u.bytes_written = std::move(opened.value().bytes_written);
    u.size_bytes = u.store->block_count() * storage::kBlockSize;
    u.lu = std::make_shared<lu::LogicalUnit>(u.store, provisioned_identity(record.id, lun, image));
    auto reservations = pr_for(db::LuKey{record.id, lun}, create_files, lease);
    if (!reservations.ok()) {
      return Unexpected<ServiceError>{internal(fmt::format("LUN {} reservations: {}", lun, reservations.error().message))};
    }
    u.lu->set_extension(std::move(reservations).value());
    units.push_back(std::move(u));
  }
  return std::make_shared<ProvisionedDisk>(record, dir, std::move(units), storage_, reaper_);
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
    if (!config_.open_at_load) {
      std::lock_guard lock(mu_);
      disks_[record.id] = record_only(record);
      continue;
    }
    auto disk = open_disk(record, false);
    if (!disk.ok()) {
      spdlog::error("disk {}: cannot open, not served: {}", record.id, disk.error().message);
      continue;
    }
    std::lock_guard lock(mu_);
    disks_[record.id] = disk.value();
    ++opened;
  }
  if (!config_.open_at_load) {
    spdlog::info("provisioned disks: {} known, opened when this node owns them ({} storage)", disks.value().size(),
                 storage_->kind());
  } else if (!disks.value().empty()) {
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

  // Storage first, then the record: a crash in between leaves only storage
  // without a record, which nothing serves (shared storage: the orphan
  // sweep removes it once older than its grace period).
  auto disk = open_disk(record, true);
  if (!disk.ok()) {
    if (Status s = storage_->remove_disk(record.id, static_cast<uint32_t>(record.luns.size())); !s) {
      spdlog::warn("disk {}: cannot remove the storage of a failed creation: {}", record.id, s.error().message);
    }
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
    // A fleet serves a disk only under its lease: the keeper opens it
    // (here or on another node) once it holds one.
    std::lock_guard lock(mu_);
    disks_[record.id] = config_.open_at_load ? disk.value() : record_only(record);
  }
  if (!config_.open_at_load && config_.created) config_.created(record.id);
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
  const bool open_here = disk && disk->is_open();
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
  if (!open_here) {
    // Known here but not open here (a fleet disk): remove the storage now.
    // Shared storage another node has open refuses (RBD: the image has a
    // watcher); that node sees the record gone at its next records read and
    // removes the storage once closed, and the orphan sweep removes what a
    // crash of that node leaves.
    auto luns = static_cast<uint32_t>(disk->record().luns.size());
    if (Status s = storage_->remove_disk(id, luns); !s) {
      spdlog::info("disk {}: storage not removed here ({}): left to the node that has it open", id,
                   s.error().message);
    }
  }
  return true;  // open storage goes when the last session lets go of `disk`
}

Status ProvisionedDisks::open_owned(std::string_view disk_id, const OwnerLease& lease) {
  std::lock_guard change(change_mu_);
  auto known = find(disk_id);
  if (!known) {
    // Created on another node since this one last read the records.
    if (Status s = learn_record(disk_id); !s) return s;
    known = find(disk_id);
  }
  if (!known) return fail(fmt::format("disk {}: unknown", disk_id));
  if (known->is_open()) return ok_status();
  if (known->deleted()) return fail(fmt::format("disk {}: deleted", disk_id));
  auto opened = open_disk(known->record(), false, lease);
  if (!opened.ok()) return fail(fmt::format("disk {}: {}", disk_id, opened.error().message));
  std::lock_guard lock(mu_);
  disks_[std::string(disk_id)] = opened.value();
  spdlog::info("disk {} opened ({} storage)", disk_id, storage_->kind());
  return ok_status();
}

Status ProvisionedDisks::learn_record(std::string_view disk_id) {
  auto record = store_.get_disk(disk_id);
  if (!record.ok()) return fail(fmt::format("disk {}: {}", disk_id, record.error().message));
  if (!record.value()) return fail(fmt::format("disk {}: unknown", disk_id));
  return add_records({*record.value()});
}

Status ProvisionedDisks::add_records(const std::vector<db::Disk>& records) {
  for (const auto& r : records) {
    bool tier_known = false;
    {
      std::lock_guard lock(mu_);
      tier_known = account_tier_.count(r.account_id) != 0;
    }
    if (!tier_known) {
      auto account = store_.get_account(r.account_id);
      if (!account.ok()) return fail(fmt::format("account {}: {}", r.account_id, account.error().message));
      if (account.value()) {
        std::lock_guard lock(mu_);
        account_tier_[r.account_id] = account.value()->tier;
      }
    }
    std::lock_guard lock(mu_);
    if (disks_.count(r.id) == 0) disks_[r.id] = record_only(r);
  }
  return ok_status();
}

void ProvisionedDisks::sync_records(const std::vector<db::Disk>& records) {
  std::lock_guard change(change_mu_);
  std::set<std::string, std::less<>> present;
  std::vector<db::Disk> fresh;
  for (const auto& r : records) {
    present.insert(r.id);
    if (!find(r.id)) fresh.push_back(r);
  }
  if (Status s = add_records(fresh); !s) spdlog::warn("reading disks created on other nodes: {}", s.error().message);
  for (const auto& n : fresh) spdlog::info("disk {} known (created on another node)", n.id);
  // Deleted through another node: no new session. The deleting node could
  // not remove storage this node has open (RBD refuses while a client
  // watches an image), so a disk open here is marked deleted: its storage is
  // removed here once its last session lets go. `records` may predate a disk
  // created here since: only a disk the store no longer has is gone. The
  // removal runs on the reaper's thread, not this (the keeper's) one.
  std::vector<std::string> missing;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, disk] : disks_) {
      if (present.count(id) == 0 && !disk->deleted()) missing.push_back(id);
    }
  }
  std::vector<std::shared_ptr<ProvisionedDisk>> gone;
  for (const auto& id : missing) {
    auto still = store_.get_disk(id);
    if (!still.ok() || still.value()) continue;
    std::lock_guard lock(mu_);
    auto it = disks_.find(id);
    if (it == disks_.end()) continue;
    gone.push_back(it->second);
    disks_.erase(it);
  }
  for (const auto& d : gone) {
    d->mark_deleted();
    d->mark_closed();
    terminate_(disk_target(d->record().id));
    spdlog::info("disk {} was deleted on another node: no longer served here", d->record().id);
  }
}

void ProvisionedDisks::close_owned(std::string_view disk_id) {
  std::lock_guard change(change_mu_);
  auto known = find(disk_id);
  if (!known || !known->is_open()) return;
  known->mark_closed();  // no new session from here on
  {
    std::lock_guard lock(mu_);
    disks_[std::string(disk_id)] = record_only(known->record());
  }
  terminate_(disk_target(disk_id));
  spdlog::info("disk {} closed (no longer owned here)", disk_id);
  // `known` and its storage go when the last session lets go of it.
}

bool ProvisionedDisks::is_open(std::string_view disk_id) const {
  auto d = find(disk_id);
  return d && d->is_open();
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
    if (!d->is_open()) continue;
    if (Status s = d->flush(); !s) spdlog::error("{}", s.error().message);
  }
}

}  // namespace scsipub::control
