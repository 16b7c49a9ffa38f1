#pragma once
// Prometheus text exposition of the counters a stranger drives (limits hit).
// The /metrics endpoint joins this with the server's gauges.
#include <string>

#include "common/limit_events.h"

namespace scsipub::web {

// One counter family, scsipub_limit_hits_total{limit="..."}, every limit listed
// (zero included) so dashboards see the series before the first hit.
std::string limit_metrics(const LimitEvents& events);

}  // namespace scsipub::web
