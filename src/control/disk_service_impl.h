#pragma once
// The DiskService the session API runs on: bearer tokens checked against the
// MetaStore's hashes, disks from ProvisionedDisks, live sessions from the
// session registry, the catalog for images.
#include <string>

#include "control/catalog.h"
#include "control/disk_service.h"
#include "control/provisioned_disks.h"
#include "db/meta_store.h"
#include "iscsi/session_registry.h"

namespace scsipub::control {

class DiskServiceImpl final : public DiskService {
 public:
  DiskServiceImpl(db::MetaStore& store, ProvisionedDisks& disks, const Catalog& catalog,
                  const iscsi::SessionRegistry& sessions, Portals portals, uint64_t free_blank_size);

  ServiceResult<Caller> authenticate(std::string_view bearer_token) override;
  ServiceResult<DiskInfo> create_disk(const Caller& caller, const CreateDiskRequest& request) override;
  ServiceResult<std::vector<DiskInfo>> list_disks(const Caller& caller) override;
  ServiceResult<DiskInfo> get_disk(const Caller& caller, std::string_view id) override;
  ServiceResult<Ok> delete_disk(const Caller& caller, std::string_view id) override;
  std::vector<ImageInfo> images() override;
  Portals portals() override { return portals_; }

 private:
  DiskInfo describe(const ProvisionedDisk& disk, bool with_sessions) const;
  std::shared_ptr<ProvisionedDisk> owned(const Caller& caller, std::string_view id) const;

  db::MetaStore& store_;
  ProvisionedDisks& disks_;
  const Catalog& catalog_;
  const iscsi::SessionRegistry& sessions_;
  Portals portals_;
  uint64_t free_blank_size_;
};

}  // namespace scsipub::control
