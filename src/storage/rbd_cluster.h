#pragma once
// One connection to a Ceph cluster and one pool in it: the handle every RBD
// image of this process is opened through. librados is thread-safe; so is
// this object once connected. Clients are fenced by their address: the
// monitors put it on the OSD blocklist, after which the OSDs refuse every
// operation from it (Ceph "blocklist", used when ownership of an image moves
// to another node while the old one may still be alive).
#include <rados/librados.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace scsipub::storage {

struct RbdClusterConfig {
  std::string conf_file;  // ceph.conf (monitors, auth); "" = librados' default search
  std::string pool;       // the pool every image lives in
  std::string user;       // cephx id without "client." ("admin")
  std::string keyring;    // "" = the keyring ceph.conf names
  // Bound on connecting and on every monitor/OSD operation, so no thread waits
  // forever on a cluster that went away.
  uint32_t op_timeout_seconds = 30;
};

class RbdCluster {
 public:
  static Result<std::shared_ptr<RbdCluster>> connect(const RbdClusterConfig& config);
  ~RbdCluster();
  RbdCluster(const RbdCluster&) = delete;
  RbdCluster& operator=(const RbdCluster&) = delete;

  rados_ioctx_t ioctx() const { return ioctx_; }
  const std::string& pool() const { return pool_; }
  // This client's address as the OSDs see it ("127.0.0.1:0/123456"): what
  // another node blocklists to fence this one.
  const std::string& client_address() const { return address_; }
  // This client's id, unique in the cluster for as long as it runs.
  uint64_t instance_id() const { return rados_get_instance_id(cluster_); }
  // A number no other call on this client gets: with instance_id(), a name
  // unique in the cluster (staging copies of concurrent imports).
  uint64_t next_serial() { return serial_.fetch_add(1); }
  // Fences `address` for `expire_seconds` (0: the cluster's default, an hour).
  // Refuses this client's own address.
  Status blocklist(std::string_view address, uint32_t expire_seconds = 0);

 private:
  RbdCluster(rados_t cluster, rados_ioctx_t ioctx, std::string pool, std::string address)
      : cluster_(cluster), ioctx_(ioctx), pool_(std::move(pool)), address_(std::move(address)) {}

  rados_t cluster_;
  rados_ioctx_t ioctx_;
  std::string pool_;
  std::string address_;
  std::atomic<uint64_t> serial_{0};
};

// "<what>: <strerror(-rc)>" for a negative librados/librbd return code.
std::string rbd_error(std::string_view what, int rc);

}  // namespace scsipub::storage
