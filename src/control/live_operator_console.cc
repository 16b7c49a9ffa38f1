#include "control/live_operator_console.h"

#include <map>
#include <unordered_set>

#include "control/disk_info.h"
#include "control/target_names.h"

namespace scsipub::control {
namespace {

constexpr auto kRateInterval = std::chrono::milliseconds(900);

int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

bool LiveOperatorConsole::authenticate_operator(std::string_view token) {
  return src_.authenticate && src_.authenticate(token);
}

LiveSession LiveOperatorConsole::describe(const iscsi::SessionRecord& r) const {
  LiveSession s;
  s.id = r.id;
  s.discovery = r.discovery;
  s.target = r.discovery ? "" : r.target_name;
  s.kind = r.details.kind.empty() ? (r.discovery ? "discovery" : target_kind(r.target_name).kind) : r.details.kind;
  s.luns = r.luns;
  s.initiator_name = r.key.initiator_name;
  s.isid = isid_hex(r.key.isid);
  s.peer_address = r.peer_address;
  s.tls = r.details.tls;
  s.authenticated = r.authenticated;
  s.connected_since_ms = unix_ms(r.details.since);
  if (auto usage = src_.directory.overlay_usage(r.id)) {
    s.overlay_bytes = usage->bytes;
    s.write_limit = usage->limit;
  }
  return s;
}

// Rates are differences between samples at least kRateInterval apart, so
// viewers polling at any speed (or many at once) see per-second figures.
void LiveOperatorConsole::apply_rates(LiveSession& s, const iscsi::TrafficTotals& t, Clock::time_point now) {
  s.read_bytes = t.read_bytes;
  s.write_bytes = t.write_bytes;
  s.read_commands = t.read_commands;
  s.write_commands = t.write_commands;
  auto [it, fresh] = samples_.try_emplace(s.id, Sample{now, t});
  Sample& sm = it->second;
  if (!fresh && now - sm.at >= kRateInterval) {
    const double secs = std::chrono::duration<double>(now - sm.at).count();
    sm.read_iops = double(t.read_commands - sm.totals.read_commands) / secs;
    sm.write_iops = double(t.write_commands - sm.totals.write_commands) / secs;
    sm.read_bps = double(t.read_bytes - sm.totals.read_bytes) / secs;
    sm.write_bps = double(t.write_bytes - sm.totals.write_bytes) / secs;
    sm.at = now;
    sm.totals = t;
  }
  s.read_iops = sm.read_iops;
  s.write_iops = sm.write_iops;
  s.read_bytes_per_second = sm.read_bps;
  s.write_bytes_per_second = sm.write_bps;
}

std::vector<LiveSession> LiveOperatorConsole::sessions(Clock::time_point now) {
  auto records = src_.registry.snapshot();
  std::vector<LiveSession> out;
  out.reserve(records.size());
  std::unordered_set<uint64_t> live;
  std::lock_guard lock(rates_mu_);
  for (const auto& r : records) {
    LiveSession s = describe(r);
    iscsi::TrafficTotals t = r.details.counters ? iscsi::TrafficTotals::of(*r.details.counters) : iscsi::TrafficTotals{};
    apply_rates(s, t, now);
    live.insert(r.id);
    out.push_back(std::move(s));
  }
  std::erase_if(samples_, [&](const auto& kv) { return !live.contains(kv.first); });
  std::sort(out.begin(), out.end(), [](const LiveSession& a, const LiveSession& b) { return a.id < b.id; });
  return out;
}

std::vector<OperatorDisk> LiveOperatorConsole::disks() {
  std::map<std::string, std::string> tier_of;
  if (auto accounts = src_.store.list_accounts(); accounts.ok()) {
    for (const auto& a : accounts.value()) tier_of[a.id] = a.tier;
  }
  std::vector<OperatorDisk> out;
  for (const auto& d : src_.disks.all()) {
    if (d->deleted()) continue;
    OperatorDisk p;
    p.disk = describe_disk(*d, &src_.registry);
    p.disk.chap_secret.clear();
    p.disk.mutual_secret.reset();
    p.account_id = d->record().account_id;
    auto it = tier_of.find(p.account_id);
    if (it != tier_of.end()) p.tier = it->second;
    out.push_back(std::move(p));
  }
  return out;
}

FleetView LiveOperatorConsole::fleet() const {
  FleetView v;
  if (src_.fleet == nullptr) return v;
  v.enabled = true;
  v.this_node = src_.fleet->settings().self.id;
  src_.fleet->read([&v](const FleetSnapshot& s) {
    v.connected = s.connected;
    for (const auto& n : s.nodes) {
      v.nodes.push_back({n.id, n.iscsi_portal, n.tls_portal, n.version, n.alive, s.db_now_ms - n.heartbeat_ms,
                         n.sessions});
    }
    for (const auto& l : s.leases) {
      v.leases.push_back({l.disk_id, l.owner_node, l.epoch, l.owner_node.empty() ? 0 : l.expires_ms - s.db_now_ms});
    }
  });
  return v;
}

std::vector<RetainedDisk> LiveOperatorConsole::retained() const {
  const auto steady_now = src_.clock.steady_now();
  const auto wall_now = src_.clock.wall_now();
  std::vector<RetainedDisk> out;
  for (const auto& r : src_.directory.retained()) {
    const auto left = std::chrono::duration_cast<std::chrono::system_clock::duration>(r.deadline - steady_now);
    out.push_back({r.key.target_name, r.key.initiator_name, isid_hex(r.key.isid), r.key.peer_address,
                   unix_ms(wall_now + left), r.usage.bytes, r.usage.limit});
  }
  return out;
}

OperatorSnapshot LiveOperatorConsole::snapshot() {
  OperatorSnapshot snap;
  snap.taken_at_ms = unix_ms(src_.clock.wall_now());
  snap.sessions = sessions(src_.clock.steady_now());
  for (const auto& e : src_.journal.recent()) {
    snap.refused.push_back(
        {unix_ms(e.last_at), e.peer_address, e.initiator_name, e.target_name, e.reason, e.repeats});
  }
  for (size_t i = 0; i < LimitEvents::kCount; ++i) {
    auto limit = static_cast<Limit>(i);
    snap.limit_hits.push_back({std::string(LimitEvents::name(limit)), src_.limits.count(limit)});
  }
  snap.disks = disks();
  snap.images = src_.service.images();
  snap.retained = retained();
  snap.fleet = fleet();
  return snap;
}

ServiceResult<Ok> LiveOperatorConsole::end_session(uint64_t session_id) {
  auto rec = src_.registry.get(session_id);
  if (!rec) return service_error(ServiceErrc::not_found, "no such session");
  if (rec->details.end) {
    rec->details.end(kLogoutSeconds);
  } else if (rec->terminate) {
    rec->terminate();
  }
  return Ok{};
}

ServiceResult<Ok> LiveOperatorConsole::delete_disk(std::string_view disk_id) {
  auto disk = src_.disks.find(disk_id);
  if (!disk || disk->deleted()) return service_error(ServiceErrc::not_found, "no such disk");
  auto removed = src_.disks.remove(disk_id);
  if (!removed.ok()) return Unexpected<ServiceError>{removed.error()};
  return Ok{};
}

}  // namespace scsipub::control
