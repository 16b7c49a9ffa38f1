#include "control/disk_binder.h"

#include <fmt/format.h>

#include <algorithm>

#include "control/provisioned_disks.h"
#include "control/target_names.h"
#include "iscsi/login_negotiator.h"
#include "scsi/lun_map.h"

namespace scsipub::control {
namespace {

// A session on a provisioned disk: attached to the disk's shared units.
class DiskBinding final : public iscsi::TargetBinding {
 public:
  DiskBinding(std::shared_ptr<ProvisionedDisk> disk, uint64_t nexus_id) : disk_(std::move(disk)), nexus_id_(nexus_id) {}
  ~DiskBinding() override {
    for (const auto& unit : luns_.units()) unit->detach(nexus_id_);
    disk_->remove_session();
  }
  const scsi::LunMap& luns() const override { return luns_; }
  scsi::LunMap& lun_map() { return luns_; }

 private:
  std::shared_ptr<ProvisionedDisk> disk_;
  uint64_t nexus_id_;
  scsi::LunMap luns_;
};

}  // namespace

std::optional<iscsi::LoginTarget> DiskBinder::find(std::string_view target_name) const {
  std::string_view id = disk_id_of(target_name);
  if (id.empty() || disks_ == nullptr) return std::nullopt;
  auto disk = disks_->find(id);
  if (!disk || disk->deleted()) return std::nullopt;
  return iscsi::LoginTarget{std::string(target_name), "scsipub disk " + std::string(id), true, "disk", ""};
}

std::vector<std::string> DiskBinder::account_targets(std::string_view chap_user) const {
  std::vector<std::string> out;
  if (disks_ == nullptr) return out;
  auto disk = disks_->find_by_chap_user(chap_user);
  if (!disk) return out;
  for (const auto& d : disks_->list_by_account(disk->record().account_id)) {
    if (!d->deleted()) out.push_back(disk_target(d->record().id));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string DiskBinder::chap_user_of(std::string_view target_name) const {
  if (disks_ == nullptr) return {};
  auto disk = disks_->find(disk_id_of(target_name));
  return disk && !disk->deleted() ? disk->record().chap_user : std::string();
}

iscsi::ChapCredentialLookup DiskBinder::credentials() const {
  ProvisionedDisks* disks = disks_;
  return [disks](std::string_view target_name, std::string_view chap_n) -> std::optional<iscsi::ChapCredentials> {
    if (disks == nullptr) return std::nullopt;
    auto disk = target_name.empty() ? disks->find_by_chap_user(chap_n) : disks->find(disk_id_of(target_name));
    if (!disk || disk->deleted() || disk->record().chap_user != chap_n) return std::nullopt;
    const db::Disk& r = disk->record();
    return iscsi::ChapCredentials{r.chap_secret, r.mutual_secret, disk_target(r.id)};
  };
}

Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> DiskBinder::bind(std::string_view target_name,
                                                                                 const lu::Nexus& nexus) const {
  auto disk = disks_ ? disks_->find(disk_id_of(target_name)) : nullptr;
  if (!disk || disk->deleted()) {
    return Unexpected<iscsi::BindError>{
        {iscsi::login_status::kInitiatorError, iscsi::login_status::kNotFound, "disk not found"}};
  }
  const Tier tier = disks_->tier_of(*disk);
  if (!disk->try_add_session(tier.max_sessions_per_disk)) {
    return Unexpected<iscsi::BindError>{
        {iscsi::login_status::kTargetError, iscsi::login_status::kOutOfResources,
         fmt::format("disk {} already has {} session(s), the tier's maximum", disk->record().id,
                     tier.max_sessions_per_disk)}};
  }
  auto binding = std::make_unique<DiskBinding>(disk, nexus.id);
  for (uint32_t lun = 0; lun < disk->units().size(); ++lun) {
    const auto& unit = disk->units()[lun].lu;
    unit->attach(nexus);
    binding->lun_map().add(lun, unit);
  }
  return std::unique_ptr<iscsi::TargetBinding>(std::move(binding));
}

}  // namespace scsipub::control
