#include "control/disk_service_impl.h"

#include "control/disk_info.h"
#include "control/target_names.h"
#include "db/tokens.h"

namespace scsipub::control {

DiskServiceImpl::DiskServiceImpl(db::MetaStore& store, ProvisionedDisks& disks, const Catalog& catalog,
                                 const iscsi::SessionRegistry& sessions, Portals portals, uint64_t free_blank_size)
    : store_(store),
      disks_(disks),
      catalog_(catalog),
      sessions_(sessions),
      portals_(std::move(portals)),
      free_blank_size_(free_blank_size) {}

ServiceResult<Caller> DiskServiceImpl::authenticate(std::string_view bearer_token) {
  // Tokens are 64 hex digits; anything else cannot match and is not hashed.
  if (bearer_token.size() != db::kTokenBytes * 2) return service_error(ServiceErrc::unauthorized, "invalid token");
  auto hash = db::hash_token(bearer_token);
  if (!hash.ok()) return service_error(ServiceErrc::internal, hash.error().message);
  auto account = store_.get_account_by_token_hash(hash.value());
  if (!account.ok()) return service_error(ServiceErrc::internal, account.error().message);
  if (!account.value()) return service_error(ServiceErrc::unauthorized, "invalid token");
  return Caller{account.value()->id, account.value()->tier};
}

std::shared_ptr<ProvisionedDisk> DiskServiceImpl::owned(const Caller& caller, std::string_view id) const {
  auto disk = disks_.find(id);
  if (!disk || disk->deleted() || disk->record().account_id != caller.account_id) return nullptr;
  return disk;
}

DiskInfo DiskServiceImpl::describe(const ProvisionedDisk& disk, bool with_sessions) const {
  return describe_disk(disk, with_sessions ? &sessions_ : nullptr);
}

ServiceResult<DiskInfo> DiskServiceImpl::create_disk(const Caller& caller, const CreateDiskRequest& request) {
  auto account = store_.get_account(caller.account_id);
  if (!account.ok()) return service_error(ServiceErrc::internal, account.error().message);
  if (!account.value()) return service_error(ServiceErrc::unauthorized, "account no longer exists");
  auto disk = disks_.create(*account.value(), request.images);
  if (!disk.ok()) return Unexpected<ServiceError>{disk.error()};
  return describe(*disk.value(), false);
}

ServiceResult<std::vector<DiskInfo>> DiskServiceImpl::list_disks(const Caller& caller) {
  std::vector<DiskInfo> out;
  for (const auto& d : disks_.list_by_account(caller.account_id)) {
    if (!d->deleted()) out.push_back(describe(*d, true));
  }
  return out;
}

ServiceResult<DiskInfo> DiskServiceImpl::get_disk(const Caller& caller, std::string_view id) {
  auto disk = owned(caller, id);
  if (!disk) return service_error(ServiceErrc::not_found, "no such disk");
  return describe(*disk, true);
}

ServiceResult<Ok> DiskServiceImpl::delete_disk(const Caller& caller, std::string_view id) {
  if (!owned(caller, id)) return service_error(ServiceErrc::not_found, "no such disk");
  auto removed = disks_.remove(id);
  if (!removed.ok()) return Unexpected<ServiceError>{removed.error()};
  return Ok{};
}

std::vector<ImageInfo> DiskServiceImpl::images() {
  std::vector<ImageInfo> out{{"blank", free_blank_size_, blank_target()}};
  for (const auto& e : catalog_.entries()) {
    out.push_back({e.name, e.size_bytes, image_target(e.name), e.presentation, e.title, e.description});
  }
  return out;
}

}  // namespace scsipub::control
