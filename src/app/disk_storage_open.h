#pragma once
// Opens the storage provisioned disks live on: local overlay files under
// DATA_DIR/disks, or Ceph RBD when [ceph] is configured (connecting to the
// cluster, bounded by [ceph] op_timeout_seconds).
#include <memory>

#include "app/config.h"
#include "common/result.h"
#include "control/disk_storage.h"

namespace scsipub::app {

Result<std::shared_ptr<control::DiskStorage>> open_disk_storage(const Config& cfg, const control::BaseLookup& bases);

}  // namespace scsipub::app
