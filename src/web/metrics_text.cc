#include "web/metrics_text.h"

#include <fmt/format.h>

namespace scsipub::web {
namespace {

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void sample(std::string& out, std::string_view name, std::string_view type, std::string_view help, uint64_t v) {
  family(out, name, type, help);
  out += fmt::format("{} {}\n", name, v);
}

}  // namespace

std::string metrics_text(const LimitEvents& events, const ServerGauges& gauges) {
  std::string out;
  family(out, "scsipub_limit_hits_total", "counter", "Times a configured limit refused or closed something.");
  for (size_t i = 0; i < LimitEvents::kCount; ++i) {
    auto limit = static_cast<Limit>(i);
    out += fmt::format("scsipub_limit_hits_total{{limit=\"{}\"}} {}\n", LimitEvents::name(limit), events.count(limit));
  }
  sample(out, "scsipub_connections", "gauge", "Open iSCSI connections.", gauges.connections);
  sample(out, "scsipub_sessions", "gauge", "Logged-in iSCSI sessions.", gauges.sessions);
  if (gauges.tls) {
    sample(out, "scsipub_tls_reloads_total", "counter", "Certificate pairs loaded after start.", gauges.tls->reloads);
    sample(out, "scsipub_tls_reload_failures_total", "counter", "Changed certificate pairs that did not load.",
           gauges.tls->reload_failures);
  }
  return out;
}

}  // namespace scsipub::web
