#include "control/free_tier_binder.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/dvd_unit.h"
#include "control/overlay_names.h"
#include "control/target_names.h"
#include "iscsi/login_negotiator.h"
#include "lu/logical_unit.h"
#include "scsi/lu_reservations.h"
#include "scsi/lun_map.h"
#include "storage/cow_overlay.h"

namespace scsipub::control {
namespace {

iscsi::BindError out_of_resources(std::string message) {
  return {iscsi::login_status::kTargetError, iscsi::login_status::kOutOfResources, std::move(message)};
}

}  // namespace

class FreeTierBinder::Binding final : public iscsi::TargetBinding {
 public:
  Binding(FreeTierBinder& owner, ReinstateKey key, uint64_t nexus_id, SessionDisks disks)
      : owner_(owner), key_(std::move(key)), nexus_id_(nexus_id), disks_(std::move(disks)) {}
  ~Binding() override {
    owner_.forget(nexus_id_);  // before the overlays go: the dashboard reads them
    for (const auto& unit : disks_.luns.units()) unit->detach(nexus_id_);
    owner_.finish(key_, nexus_id_, std::move(disks_), how_);
  }
  const scsi::LunMap& luns() const override { return disks_.luns; }
  void end(iscsi::SessionEnd how) override { how_ = how; }
  scsi::LunMap& lun_map() { return disks_.luns; }
  void track(std::shared_ptr<const storage::CowOverlay> overlay) { disks_.overlays.push_back(std::move(overlay)); }
  OverlayUsage usage() const { return usage_of(disks_); }

 private:
  FreeTierBinder& owner_;
  ReinstateKey key_;
  uint64_t nexus_id_;
  SessionDisks disks_;
  // Destroyed without end(): its owner let go of it on purpose, as a Logout does.
  iscsi::SessionEnd how_ = iscsi::SessionEnd::logout;
};

FreeTierBinder::FreeTierBinder(const FreeTierConfig& config, std::filesystem::path overlay_dir, LimitEvents* events,
                               const FreeTierTargets& targets, BaseImageCache& bases, RandomSource& random,
                               const Clock& clock)
    : config_(config),
      overlay_dir_(std::move(overlay_dir)),
      events_(events),
      targets_(targets),
      bases_(bases),
      clock_(clock),
      instance_(fmt::format("{:08x}", uint32_t(random.next_u64()))),
      naa_(random.next_u64()),
      budget_(config.overlay_bytes_per_ip, config.overlay_bytes_total) {}

FreeTierBinder::~FreeTierBinder() { release_retained(); }

Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> FreeTierBinder::bind(std::string_view target_name,
                                                                                     const lu::Nexus& nexus,
                                                                                     const iscsi::PortalInfo& portal) {
  expire_retained();  // an expired disk neither goes to this login nor counts against its budget
  auto images = targets_.images_of(target_name);
  if (!images) {
    return Unexpected<iscsi::BindError>{
        {iscsi::login_status::kInitiatorError, iscsi::login_status::kNotFound, "target not found"}};
  }
  std::vector<BaseImageCache::Base> bases;
  for (const auto& image : *images) {
    auto base = bases_.open(image);
    if (!base.ok()) return Unexpected<iscsi::BindError>{out_of_resources(base.error().message)};
    bases.push_back(std::move(base).value());
  }
  uint64_t worst_case = 0;
  for (size_t lun = 0; lun < bases.size(); ++lun) {
    if (bases[lun].presentation != Presentation::dvd) worst_case += overlay_worst_case((*images)[lun], *bases[lun].image);
  }
  // A DVD-only target writes nothing: there is nothing to keep for it.
  const bool retaining = config_.retain.count() > 0 && worst_case > 0;
  ReinstateKey key{nexus.initiator_name, nexus.isid, std::string(target_name), portal.peer_address};
  if (retaining) {
    std::unique_lock lock(mu_);
    if (live_keys_.contains(key)) {
      // RFC 7143 6.3.5: this login reinstates a session whose connection is
      // still being closed on its own thread, and its disks must not be used
      // by two sessions at once. Class 3 asks the initiator to retry (RFC 7143
      // 11.13.5); by then the old session is gone and its disks are retained.
      return Unexpected<iscsi::BindError>{{iscsi::login_status::kTargetError,
                                           iscsi::login_status::kServiceUnavailable,
                                           "the session this login reinstates is still closing"}};
    }
    if (auto kept = retained_.take(key)) {
      live_keys_.emplace(key, nexus.id);
      lock.unlock();
      spdlog::info("session {}: {} takes back overlay {}, retained since its connection dropped", nexus.id,
                   nexus.initiator_name, kept->id);
      // The same logical units: same data, NAA and serial. attach() gives the
      // new nexus its POWER ON, RESET unit attention, as for any new session.
      for (const auto& unit : kept->luns.units()) unit->attach(nexus);
      auto binding = std::make_unique<Binding>(*this, std::move(key), nexus.id, std::move(*kept));
      std::lock_guard relock(mu_);
      bindings_[nexus.id] = binding.get();
      return std::unique_ptr<iscsi::TargetBinding>(std::move(binding));
    }
    live_keys_.emplace(key, nexus.id);  // claimed now: a racing login of this nexus is told to retry
  }
  auto bound = bind_fresh(target_name, *images, bases, worst_case, nexus, portal, key);
  if (!bound.ok() && retaining) {
    std::lock_guard lock(mu_);
    if (auto it = live_keys_.find(key); it != live_keys_.end() && it->second == nexus.id) live_keys_.erase(it);
  }
  return bound;
}

Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> FreeTierBinder::bind_fresh(
    std::string_view target_name, const std::vector<std::string>& images,
    const std::vector<BaseImageCache::Base>& bases, uint64_t worst_case, const lu::Nexus& nexus,
    const iscsi::PortalInfo& portal, ReinstateKey key) {
  if (auto over = budget_.reserve(portal.group(), worst_case)) {
    count_limit(events_, *over, portal.peer_address, target_name);
    return Unexpected<iscsi::BindError>{out_of_resources(*over == Limit::free_overlay_total
                                                             ? "free-tier overlay bytes exhausted"
                                                             : "free-tier overlay bytes per address exhausted")};
  }
  std::string id = fmt::format("{}{:08x}", instance_, uint32_t(nexus.id));
  {
    std::lock_guard lock(mu_);
    live_ids_.insert(id);  // before any file exists, so the janitor never races us
  }
  // From here the binding owns the id and the reservation: its destructor releases them.
  SessionDisks disks;
  disks.id = id;
  disks.group = portal.group();
  disks.reserved = worst_case;
  auto binding = std::make_unique<Binding>(*this, std::move(key), nexus.id, std::move(disks));
  const bool multi = bases.size() > 1;
  for (uint32_t lun = 0; lun < bases.size(); ++lun) {
    const std::string& image = images[lun];
    lu::Identity ident;
    ident.serial = fmt::format("{}l{}", id, lun);
    ident.naa_id = naa_.next();
    ident.device_name = lu_device_name(target_name, lun);
    if (bases[lun].presentation == Presentation::dvd) {
      auto unit = make_dvd_unit(bases[lun].image, std::move(ident));
      unit->attach(nexus);
      binding->lun_map().add(lun, std::move(unit));
      continue;
    }
    storage::OverlayOptions opts;
    opts.delete_on_close = true;
    opts.write_limit = write_limit_for(image);
    auto path = overlay_dir_ / overlay_file_name(id, multi ? std::optional<uint32_t>(lun) : std::nullopt);
    // The file is created at the session's first write; the write fails with
    // a MEDIUM ERROR and the operator learns why here.
    opts.on_create_error = [](const std::string& why) { spdlog::error("cannot create overlay: {}", why); };
    auto overlay = storage::CowOverlay::create(bases[lun].image, path, opts);
    if (!overlay.ok()) {
      spdlog::error("cannot create overlay {}: {}", path.string(), overlay.error().message);
      return Unexpected<iscsi::BindError>{out_of_resources("overlay creation failed")};
    }
    ident.product = image == kBlankImage ? "BLANK" : "IMAGE";
    std::shared_ptr<storage::CowOverlay> cow = std::move(overlay).value();
    binding->track(cow);
    std::shared_ptr<storage::BlockStore> store = std::move(cow);
    auto unit = std::make_shared<lu::LogicalUnit>(std::move(store), std::move(ident));
    // Free tier: reservations live as long as the session's LU, in memory.
    unit->set_extension(std::make_unique<scsi::LuReservations>());
    unit->attach(nexus);
    binding->lun_map().add(lun, std::move(unit));
  }
  {
    std::lock_guard lock(mu_);
    bindings_[nexus.id] = binding.get();
  }
  return std::unique_ptr<iscsi::TargetBinding>(std::move(binding));
}

void FreeTierBinder::forget(uint64_t session_id) {
  std::lock_guard lock(mu_);
  bindings_.erase(session_id);
}

void FreeTierBinder::finish(const ReinstateKey& key, uint64_t session_id, SessionDisks disks,
                            iscsi::SessionEnd how) {
  // Only a session that ended without a Logout (and was not stopped by the
  // server itself) may be reinstated; DVD-only targets have nothing to keep.
  const bool keep = config_.retain.count() > 0 && how != iscsi::SessionEnd::logout &&
                    how != iscsi::SessionEnd::shutdown && !disks.overlays.empty();
  std::optional<SessionDisks> displaced;
  {
    std::lock_guard lock(mu_);
    if (auto it = live_keys_.find(key); it != live_keys_.end() && it->second == session_id) live_keys_.erase(it);
    if (keep) {
      spdlog::info("session {} ({}): overlay {} kept {} s for a reinstating login from {}", session_id,
                   iscsi::to_string(how), disks.id, config_.retain.count(), key.peer_address);
      displaced = retained_.put(key, std::move(disks), clock_.steady_now() + config_.retain);
    }
  }
  if (displaced) release(std::move(*displaced));
  if (!keep) release(std::move(disks));
}

// Deletes the overlays (the last references to private overlays delete their
// files), then returns the id and the budget. Never under mu_: file work.
void FreeTierBinder::release(SessionDisks disks) {
  disks.luns.clear();
  disks.overlays.clear();
  {
    std::lock_guard lock(mu_);
    live_ids_.erase(disks.id);
  }
  budget_.release(disks.group, disks.reserved);
}

size_t FreeTierBinder::expire_retained() {
  std::vector<SessionDisks> expired;
  {
    std::lock_guard lock(mu_);
    expired = retained_.take_expired(clock_.steady_now());
  }
  for (auto& d : expired) {
    spdlog::info("overlay {} deleted: nobody reinstated its session within {} s", d.id, config_.retain.count());
    release(std::move(d));
  }
  return expired.size();
}

size_t FreeTierBinder::release_retained() {
  std::vector<SessionDisks> all;
  {
    std::lock_guard lock(mu_);
    all = retained_.take_all();
  }
  for (auto& d : all) release(std::move(d));
  return all.size();
}

bool FreeTierBinder::holds(const ReinstateKey& key) const {
  std::lock_guard lock(mu_);
  return live_keys_.contains(key) || retained_.contains(key);
}

size_t FreeTierBinder::retained_count() const {
  std::lock_guard lock(mu_);
  return retained_.size();
}

std::vector<RetainedDiskView> FreeTierBinder::retained() const {
  std::lock_guard lock(mu_);
  return retained_.list();
}

std::optional<OverlayUsage> FreeTierBinder::overlay_usage(uint64_t session_id) const {
  std::lock_guard lock(mu_);
  auto it = bindings_.find(session_id);
  if (it == bindings_.end()) return std::nullopt;
  return it->second->usage();
}

bool FreeTierBinder::overlay_live(std::string_view id) const {
  std::lock_guard lock(mu_);
  return live_ids_.contains(id);
}

uint64_t FreeTierBinder::write_limit_for(std::string_view image) const {
  return image == kBlankImage ? config_.blank_write_limit : config_.image_write_limit;
}

// An overlay never holds more than the LU's size, nor more than its write limit.
uint64_t FreeTierBinder::overlay_worst_case(std::string_view image, const storage::ImageSource& base) const {
  const uint64_t limit = write_limit_for(image);
  return limit == 0 ? base.size_bytes() : std::min(limit, base.size_bytes());
}

}  // namespace scsipub::control
