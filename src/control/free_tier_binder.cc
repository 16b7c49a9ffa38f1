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
  Binding(FreeTierBinder& owner, std::string id, uint64_t nexus_id, std::string group, uint64_t reserved)
      : owner_(owner), id_(std::move(id)), nexus_id_(nexus_id), group_(std::move(group)), reserved_(reserved) {}
  ~Binding() override {
    owner_.forget(nexus_id_);  // before the overlays go: the dashboard reads them
    for (const auto& unit : luns_.units()) unit->detach(nexus_id_);
    luns_.clear();  // private overlays delete their files here
    overlays_.clear();
    owner_.release(id_, group_, reserved_);
  }
  const scsi::LunMap& luns() const override { return luns_; }
  scsi::LunMap& lun_map() { return luns_; }
  void track(std::shared_ptr<const storage::CowOverlay> overlay) { overlays_.push_back(std::move(overlay)); }
  // Bytes the session wrote against its write limits (a LUN without one is
  // bounded by its size).
  OverlayUsage usage() const {
    OverlayUsage u;
    for (const auto& o : overlays_) {
      u.bytes += o->bytes_written_shared();
      u.limit += o->write_limit() != 0 ? o->write_limit() : o->block_count() * storage::kBlockSize;
    }
    return u;
  }

 private:
  FreeTierBinder& owner_;
  std::string id_;
  uint64_t nexus_id_;
  std::string group_;
  uint64_t reserved_;  // overlay bytes held against group_ and the total
  scsi::LunMap luns_;
  std::vector<std::shared_ptr<const storage::CowOverlay>> overlays_;
};

FreeTierBinder::FreeTierBinder(const FreeTierConfig& config, std::filesystem::path overlay_dir, LimitEvents* events,
                               const FreeTierTargets& targets, BaseImageCache& bases, RandomSource& random)
    : config_(config),
      overlay_dir_(std::move(overlay_dir)),
      events_(events),
      targets_(targets),
      bases_(bases),
      instance_(fmt::format("{:08x}", uint32_t(random.next_u64()))),
      naa_(random.next_u64()),
      budget_(config.overlay_bytes_per_ip, config.overlay_bytes_total) {}

FreeTierBinder::~FreeTierBinder() = default;

Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> FreeTierBinder::bind(std::string_view target_name,
                                                                                     const lu::Nexus& nexus,
                                                                                     const iscsi::PortalInfo& portal) {
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
  auto binding = std::make_unique<Binding>(*this, id, nexus.id, portal.group(), worst_case);
  const bool multi = bases.size() > 1;
  for (uint32_t lun = 0; lun < bases.size(); ++lun) {
    const std::string& image = (*images)[lun];
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

void FreeTierBinder::release(const std::string& id, const std::string& group, uint64_t reserved) {
  {
    std::lock_guard lock(mu_);
    live_ids_.erase(id);
  }
  budget_.release(group, reserved);
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
