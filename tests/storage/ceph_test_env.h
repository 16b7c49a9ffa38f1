#pragma once
// The cluster the RBD tests run against: SCSIPUB_TEST_CEPH_ENV names the env
// file scripts/ceph-test-cluster.sh writes (CEPH_CONF=..., one per line).
// Unset: the tests skip (no cluster on this machine).
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <string>

#include "storage/rbd_cluster.h"

namespace scsipub::testing {

inline std::optional<storage::RbdClusterConfig> ceph_test_config() {
  const char* path = std::getenv("SCSIPUB_TEST_CEPH_ENV");
  if (path == nullptr || *path == '\0') return std::nullopt;
  std::ifstream in(path);
  if (!in) return std::nullopt;
  storage::RbdClusterConfig config;
  std::string line;
  for (int i = 0; i < 64 && std::getline(in, line); ++i) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "CEPH_CONF") config.conf_file = value;
    if (key == "CEPH_POOL") config.pool = value;
    if (key == "CEPH_USER") config.user = value;
    if (key == "CEPH_KEYRING") config.keyring = value;
  }
  config.op_timeout_seconds = 20;
  return config;
}

// An image name prefix no other run shares: the pool outlives test runs.
inline std::string unique_image_prefix() {
  std::random_device rd;
  return "ut" + std::to_string(rd()) + "-";
}

}  // namespace scsipub::testing
