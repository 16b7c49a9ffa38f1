#include "web/metrics_text.h"

#include <fmt/format.h>

#include "iscsi/login_negotiator.h"

namespace scsipub::web {
namespace {

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void sample(std::string& out, std::string_view name, std::string_view type, std::string_view help, uint64_t v) {
  family(out, name, type, help);
  out += fmt::format("{} {}\n", name, v);
}

const char* status_class_name(uint8_t c) {
  switch (c) {
    case 0: return "success";
    case 1: return "redirection";
    case 2: return "initiator_error";
    case 3: return "target_error";
    default: return "other";
  }
}

void traffic_text(std::string& out, const iscsi::TrafficMetrics::Snapshot& t) {
  struct Counter {
    const char* name;
    const char* help;
    uint64_t iscsi::TrafficTotals::*field;
  };
  static constexpr Counter kCounters[] = {
      {"scsipub_read_bytes_total", "Bytes sent to initiators in Data-In.", &iscsi::TrafficTotals::read_bytes},
      {"scsipub_write_bytes_total", "Bytes of write data received.", &iscsi::TrafficTotals::write_bytes},
      {"scsipub_read_commands_total", "SCSI commands with the R bit.", &iscsi::TrafficTotals::read_commands},
      {"scsipub_write_commands_total", "SCSI commands with the W bit.", &iscsi::TrafficTotals::write_commands},
  };
  for (const auto& c : kCounters) {
    family(out, c.name, "counter", c.help);
    for (const auto& row : t.traffic) {
      out += fmt::format("{}{{kind=\"{}\",image=\"{}\"}} {}\n", c.name, prometheus_label(row.kind),
                         prometheus_label(row.image), row.totals.*c.field);
    }
  }
  family(out, "scsipub_logins_total", "counter", "Finished logins by target kind and status class (RFC 7143 11.13.5).");
  for (const auto& l : t.logins) {
    out += fmt::format("scsipub_logins_total{{kind=\"{}\",status_class=\"{}\"}} {}\n", prometheus_label(l.kind),
                       status_class_name(l.status_class), l.count);
  }
  // The redirected logins (status class 1) of the same counts, by whether
  // they named a provisioned disk (served by another node of the fleet) or a
  // free-tier target (a new session sent to a less loaded node).
  uint64_t redirected_disk = 0;
  uint64_t redirected_free = 0;
  for (const auto& l : t.logins) {
    if (l.status_class != iscsi::login_status::kRedirect) continue;
    (l.kind == "disk" ? redirected_disk : redirected_free) += l.count;
  }
  family(out, "scsipub_login_redirects_total", "counter",
         "Logins answered 01/01 target moved temporarily (RFC 7143 11.13.5), by disk or free-tier target.");
  out += fmt::format("scsipub_login_redirects_total{{kind=\"disk\"}} {}\n", redirected_disk);
  out += fmt::format("scsipub_login_redirects_total{{kind=\"free\"}} {}\n", redirected_free);
  family(out, "scsipub_session_duration_seconds", "histogram", "How long ended sessions were logged in.");
  for (const auto& h : t.durations) {
    const std::string kind = prometheus_label(h.kind);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      out += fmt::format("scsipub_session_duration_seconds_bucket{{kind=\"{}\",le=\"{}\"}} {}\n", kind,
                         iscsi::TrafficMetrics::kDurationBounds[i], cumulative);
    }
    out += fmt::format("scsipub_session_duration_seconds_bucket{{kind=\"{}\",le=\"+Inf\"}} {}\n", kind, h.count);
    out += fmt::format("scsipub_session_duration_seconds_sum{{kind=\"{}\"}} {}\n", kind, h.sum_seconds);
    out += fmt::format("scsipub_session_duration_seconds_count{{kind=\"{}\"}} {}\n", kind, h.count);
  }
}

// Per node (a fleet has a handful), never per disk: leases are counted.
void fleet_text(std::string& out, const ServerGauges::Fleet& f) {
  sample(out, "scsipub_fleet_connected", "gauge", "1 when the fleet keeper's last round reached the database.",
         uint64_t{f.connected ? 1u : 0u});
  family(out, "scsipub_fleet_node_alive", "gauge", "1 when the node heartbeated within the node timeout.");
  for (const auto& n : f.nodes) {
    out += fmt::format("scsipub_fleet_node_alive{{node=\"{}\"}} {}\n", prometheus_label(n.id), n.alive ? 1 : 0);
  }
  family(out, "scsipub_fleet_node_heartbeat_age_seconds", "gauge",
         "Time since the node's last heartbeat, by the database clock.");
  for (const auto& n : f.nodes) {
    out += fmt::format("scsipub_fleet_node_heartbeat_age_seconds{{node=\"{}\"}} {:.3f}\n", prometheus_label(n.id),
                       n.heartbeat_age_seconds);
  }
  family(out, "scsipub_fleet_node_sessions", "gauge", "Logged-in sessions the node reported with its heartbeat.");
  for (const auto& n : f.nodes) {
    out += fmt::format("scsipub_fleet_node_sessions{{node=\"{}\"}} {}\n", prometheus_label(n.id), n.sessions);
  }
  sample(out, "scsipub_fleet_leases_held", "gauge", "Disk leases this node holds.", f.leases_held_here);
  sample(out, "scsipub_fleet_leases_owned", "gauge", "Disk leases held by some node of the fleet.", f.leases_owned);
  sample(out, "scsipub_fleet_leases_unowned", "gauge",
         "Disk leases released or expired, waiting for a node to take them.", f.leases_unowned);
}

}  // namespace

std::string prometheus_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

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
  if (gauges.traffic) traffic_text(out, *gauges.traffic);
  sample(out, "scsipub_refused_logins_total", "counter", "Logins refused, for any reason.", gauges.refused_logins);
  sample(out, "scsipub_retained_free_disks", "gauge",
         "Free-tier disks kept after a dropped connection, waiting for the initiator to log in again.",
         gauges.retained_free_disks);
  if (gauges.schema) {
    sample(out, "scsipub_metadata_schema_version", "gauge", "Schema version of the metadata database.",
           gauges.schema->version);
    sample(out, "scsipub_metadata_schema_version_at_start", "gauge",
           "Schema version the metadata database had when this process started (before its migrations).",
           gauges.schema->at_start);
  }
  if (gauges.fleet) fleet_text(out, *gauges.fleet);
  if (gauges.storage_sweep) {
    sample(out, "scsipub_storage_sweeps_total", "counter", "Orphan sweeps of the shared disk storage run.",
           gauges.storage_sweep->sweeps);
    sample(out, "scsipub_storage_orphans_removed_total", "counter",
           "Storage images removed by the orphan sweep (no disk record, or an interrupted import).",
           gauges.storage_sweep->removed);
  }
  return out;
}

}  // namespace scsipub::web
