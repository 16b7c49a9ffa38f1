#pragma once
// Prometheus text exposition for GET /metrics: the counters a stranger drives
// (limits hit) and the server's gauges, formatted in one place.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/limit_events.h"
#include "iscsi/traffic_metrics.h"

namespace scsipub::web {

struct ServerGauges {
  uint64_t connections = 0;
  uint64_t sessions = 0;
  struct Tls {
    uint64_t reloads = 0;
    uint64_t reload_failures = 0;
  };
  std::optional<Tls> tls;  // absent while no TLS listener runs
  // Traffic and logins per target kind and catalog image; sessions by duration.
  std::optional<iscsi::TrafficMetrics::Snapshot> traffic;
  uint64_t refused_logins = 0;
  // Free-tier disks kept after a dropped connection for a reinstating login.
  uint64_t retained_free_disks = 0;
  // A node of a fleet: the nodes and leases as its keeper last saw them.
  struct FleetNode {
    std::string id;
    bool alive = false;
    double heartbeat_age_seconds = 0;
    uint64_t sessions = 0;
  };
  struct Fleet {
    bool connected = false;
    std::vector<FleetNode> nodes;
    uint64_t leases_held_here = 0;   // owned by this node, unexpired
    uint64_t leases_owned = 0;       // owned by any node, unexpired
    uint64_t leases_unowned = 0;     // released or expired: waiting for a node
  };
  std::optional<Fleet> fleet;  // absent on a single node
  // Storage shared between nodes (Ceph RBD): the orphan sweep's work.
  struct StorageSweep {
    uint64_t sweeps = 0;
    uint64_t removed = 0;  // images of no disk record or of an interrupted import
  };
  std::optional<StorageSweep> storage_sweep;  // absent while no sweep runs
  // The metadata schema now and when this process opened the database (lower
  // after an upgrade migrated it at start; 0 for a database it created).
  struct Schema {
    uint64_t version = 0;
    uint64_t at_start = 0;
  };
  std::optional<Schema> schema;
};

// A Prometheus label value: backslash, double quote and newline escaped
// (exposition format); image names are validated, but labels never trust that.
std::string prometheus_label(std::string_view value);

// scsipub_limit_hits_total{limit="..."} lists every limit (zero included) so
// dashboards see the series before the first hit.
std::string metrics_text(const LimitEvents& events, const ServerGauges& gauges);

}  // namespace scsipub::web
