#include "app/disk_storage_open.h"

#include <spdlog/spdlog.h>

#ifdef SCSIPUB_WITH_RBD
#include "control/rbd_disk_storage.h"
#include "storage/rbd_cluster.h"
#endif

namespace scsipub::app {

Result<std::shared_ptr<control::DiskStorage>> open_disk_storage(const Config& cfg, const control::BaseLookup& bases) {
  if (!cfg.ceph.enabled()) {
    return std::shared_ptr<control::DiskStorage>(std::make_shared<control::LocalDiskStorage>(cfg.data_dir / "disks", bases));
  }
#ifdef SCSIPUB_WITH_RBD
  storage::RbdClusterConfig rc;
  rc.conf_file = cfg.ceph.conf;
  rc.pool = cfg.ceph.pool;
  rc.user = cfg.ceph.user;
  rc.keyring = cfg.ceph.keyring;
  rc.op_timeout_seconds = cfg.ceph.op_timeout_seconds;
  auto cluster = storage::RbdCluster::connect(rc);
  if (!cluster.ok()) return fail(cluster.error().message);
  spdlog::info("provisioned disks on Ceph RBD: pool {}, client {} at {}", rc.pool, rc.user,
               cluster.value()->client_address());
  return std::shared_ptr<control::DiskStorage>(
      std::make_shared<control::RbdDiskStorage>(cluster.value(), cfg.ceph.image_prefix, bases));
#else
  return fail("[ceph] is configured but this build has no Ceph RBD support");
#endif
}

}  // namespace scsipub::app
