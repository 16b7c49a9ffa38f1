#include "storage/rbd_cluster.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

namespace scsipub::storage {

std::string rbd_error(std::string_view what, int rc) { return fmt::format("{}: {}", what, std::strerror(-rc)); }

Result<std::shared_ptr<RbdCluster>> RbdCluster::connect(const RbdClusterConfig& config) {
  if (config.pool.empty()) return fail("ceph: no pool configured");
  rados_t cluster = nullptr;
  int rc = rados_create(&cluster, config.user.empty() ? nullptr : config.user.c_str());
  if (rc < 0) return fail(rbd_error("ceph: creating the client", rc));
  auto give_up = [&](std::string message) {
    rados_shutdown(cluster);
    return fail(std::move(message));
  };
  rc = rados_conf_read_file(cluster, config.conf_file.empty() ? nullptr : config.conf_file.c_str());
  if (rc < 0) return give_up(rbd_error(fmt::format("ceph: reading {}", config.conf_file), rc));
  if (!config.keyring.empty()) {
    rc = rados_conf_set(cluster, "keyring", config.keyring.c_str());
    if (rc < 0) return give_up(rbd_error("ceph: keyring", rc));
  }
  const std::string timeout = std::to_string(config.op_timeout_seconds);
  for (const char* key : {"client_mount_timeout", "rados_mon_op_timeout", "rados_osd_op_timeout"}) {
    rc = rados_conf_set(cluster, key, timeout.c_str());
    if (rc < 0) return give_up(rbd_error(fmt::format("ceph: {}", key), rc));
  }
  rc = rados_connect(cluster);
  if (rc < 0) return give_up(rbd_error("ceph: connecting", rc));
  rados_ioctx_t ioctx = nullptr;
  rc = rados_ioctx_create(cluster, config.pool.c_str(), &ioctx);
  if (rc < 0) return give_up(rbd_error(fmt::format("ceph: opening pool {}", config.pool), rc));
  char* addrs = nullptr;
  rc = rados_getaddrs(cluster, &addrs);
  if (rc < 0) {
    rados_ioctx_destroy(ioctx);
    return give_up(rbd_error("ceph: this client's address", rc));
  }
  std::string address(addrs);
  std::free(addrs);  // NOLINT(cppcoreguidelines-no-malloc): librados allocates it with malloc
  return std::shared_ptr<RbdCluster>(new RbdCluster(cluster, ioctx, config.pool, std::move(address)));
}

RbdCluster::~RbdCluster() {
  rados_ioctx_destroy(ioctx_);
  rados_shutdown(cluster_);
}

Status RbdCluster::blocklist(std::string_view address, uint32_t expire_seconds) {
  if (address.empty()) return fail("ceph: no client address to blocklist");
  if (address == address_) return fail("ceph: refusing to blocklist this node's own client");
  std::string copy(address);  // the C API takes a non-const char*
  int rc = rados_blocklist_add(cluster_, copy.data(), expire_seconds);
  if (rc < 0) return fail(rbd_error(fmt::format("ceph: blocklisting {}", address), rc));
  return ok_status();
}

}  // namespace scsipub::storage
