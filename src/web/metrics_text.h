#pragma once
// Prometheus text exposition for GET /metrics: the counters a stranger drives
// (limits hit) and the server's gauges, formatted in one place.
#include <cstdint>
#include <optional>
#include <string>

#include "common/limit_events.h"

namespace scsipub::web {

struct ServerGauges {
  uint64_t connections = 0;
  uint64_t sessions = 0;
  struct Tls {
    uint64_t reloads = 0;
    uint64_t reload_failures = 0;
  };
  std::optional<Tls> tls;  // absent while no TLS listener runs
};

// scsipub_limit_hits_total{limit="..."} lists every limit (zero included) so
// dashboards see the series before the first hit.
std::string metrics_text(const LimitEvents& events, const ServerGauges& gauges);

}  // namespace scsipub::web
