#include "control/fleet_keeper.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <utility>

namespace scsipub::control {

namespace {

LeaseTiming timing_of(const FleetSettings& s) {
  // Renew every heartbeat; stop serving one heartbeat before the lease could
  // expire in the database.
  return LeaseTiming{s.lease, s.heartbeat, s.heartbeat};
}

// FNV-1a over the bytes, then a 64-bit finalizer (splitmix64's) so that ids
// differing in one character land far apart. Fixed arithmetic: every node,
// whatever its build, computes the same weights.
uint64_t rendezvous_weight(std::string_view disk_id, std::string_view node_id) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix_in = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
  };
  mix_in(disk_id);
  mix_in(std::string_view("\0", 1));  // "ab"+"c" and "a"+"bc" differ
  mix_in(node_id);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

// 128 random bits as hex: unique per process, so two processes given one
// node id are told apart. Not a secret.
std::string new_instance_token() {
  std::random_device device;
  std::string out;
  for (int i = 0; i < 4; ++i) out += fmt::format("{:08x}", static_cast<uint32_t>(device()));
  return out;
}

FleetSettings with_instance(FleetSettings s) {
  if (s.self.instance.empty()) s.self.instance = new_instance_token();
  return s;
}

}  // namespace

Status validate(const FleetSettings& s) {
  if (auto st = db::validate(s.self); !st) return st;
  if (s.self.iscsi_portal.empty()) return fail("fleet: node " + s.self.id + " has no iSCSI portal");
  if (s.node_timeout <= s.heartbeat) return fail("fleet: node_timeout must exceed the heartbeat interval");
  if (s.forget_nodes_after.count() < 0 || (s.forget_nodes_after.count() > 0 && s.forget_nodes_after <= s.node_timeout)) {
    return fail("fleet: forget_nodes_after must be 0 (never) or exceed node_timeout");
  }
  return validate(timing_of(s));
}

std::string preferred_node(std::string_view disk_id, const std::vector<db::NodeRecord>& nodes) {
  const db::NodeRecord* best = nullptr;
  uint64_t best_weight = 0;
  for (const auto& n : nodes) {
    if (!n.alive) continue;
    const uint64_t w = rendezvous_weight(disk_id, n.id);
    if (best == nullptr || w > best_weight || (w == best_weight && n.id < best->id)) {
      best = &n;
      best_weight = w;
    }
  }
  return best ? best->id : std::string();
}

FleetKeeper::FleetKeeper(db::FleetStore& fleet, db::MetaStore& meta, const Clock& clock,
                         FleetSettings settings, FleetCallbacks callbacks)
    : fleet_(fleet),
      meta_(meta),
      clock_(clock),
      settings_(with_instance(std::move(settings))),
      callbacks_(std::move(callbacks)),
      leases_(timing_of(settings_)) {}

FleetKeeper::~FleetKeeper() { stop(); }

Status FleetKeeper::join() {
  // A live process refreshes its row every heartbeat; a dead one's row goes
  // stale one node timeout after its last heartbeat. Waiting a little longer
  // than that tells them apart.
  const int64_t timeout_ms = settings_.node_timeout.count();
  const auto attempts = settings_.node_timeout / settings_.heartbeat + 2;
  std::optional<db::NodeClash> first_seen;
  for (int64_t i = 0; i < attempts; ++i) {
    db::NodeRecord self = settings_.self;
    self.sessions = callbacks_.session_count ? callbacks_.session_count() : 0;
    auto hb = fleet_.heartbeat(self, first_heartbeat_, timeout_ms);
    if (!hb) return ok_status();  // the rounds retry, and check again
    if (!hb->clash) {
      first_heartbeat_ = false;
      return ok_status();
    }
    if (!first_seen) {
      first_seen = hb->clash;
      spdlog::warn("fleet: the row of node {} is held by another process (instance {}, {} ms ago); "
                   "waiting up to {} ms for it to go stale",
                   settings_.self.id, hb->clash->instance, hb->now_ms - hb->clash->heartbeat_ms, timeout_ms);
    } else if (*hb->clash != *first_seen) {
      return fail(fmt::format("fleet: another live process (instance {}) heartbeats as node {}: every node "
                              "needs its own [fleet] node_id",
                              hb->clash->instance, settings_.self.id));
    }
    std::unique_lock lock(mu_);
    if (wake_.wait_for(lock, settings_.heartbeat, [this] { return stopping_; })) return fail("fleet: stopped");
  }
  return fail(fmt::format("fleet: the row of node {} stayed held by another process (instance {}) for a whole "
                          "node timeout: every node needs its own [fleet] node_id",
                          settings_.self.id, first_seen ? first_seen->instance : std::string()));
}

void FleetKeeper::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopped_) return;
  thread_ = std::thread([this] { thread_main(); });
}

void FleetKeeper::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // A clean stop: close each disk while the lease is still ours, then let
  // others have it at once instead of after the expiry.
  for (const auto& h : leases_.held()) {
    if (callbacks_.on_lost) callbacks_.on_lost(h.disk_id);
    if (auto it = deadlines_.find(h.disk_id); it != deadlines_.end()) it->second->revoke();
    leases_.release(h.disk_id);
    if (auto r = fleet_.release_lease(h.disk_id, settings_.self.id, h.epoch); !r) {
      spdlog::warn("fleet: could not give back the lease of disk {}: {}", h.disk_id, r.error().message);
    }
  }
  deadlines_.clear();
  if (auto r = fleet_.remove_node(settings_.self.id, settings_.self.instance); !r) {
    spdlog::warn("fleet: could not leave the node table: {}", r.error().message);
  }
  FleetSnapshot s = snapshot();
  s.held.clear();
  s.connected = false;
  snapshot_.publish(std::move(s));
}

void FleetKeeper::thread_main() {
  std::unique_lock lock(mu_);
  // Bounded by stop(): every wait ends at the next round or lease deadline.
  while (!stopping_) {
    lock.unlock();
    run_round();
    const auto wake_at = next_wake();
    lock.lock();
    wake_.wait_until(lock, wake_at, [this] { return stopping_ || !claims_.empty(); });
  }
}

std::chrono::steady_clock::time_point FleetKeeper::next_wake() const {
  auto at = clock_.steady_now() + settings_.heartbeat;
  for (const auto& h : leases_.held()) at = std::min(at, h.deadline);
  return at;
}

void FleetKeeper::note_error(std::string message) {
  if (round_error_.empty()) round_error_ = std::move(message);
}

void FleetKeeper::run_round() {
  round_error_.clear();
  ++rounds_;
  report_lost();

  db::NodeRecord self = settings_.self;
  self.sessions = callbacks_.session_count ? callbacks_.session_count() : 0;
  const auto hb = fleet_.heartbeat(self, first_heartbeat_, settings_.node_timeout.count());
  bool clashed = false;
  if (!hb) {
    note_error(hb.error().message);
  } else if (hb->clash) {
    clashed = true;
    note_clash(*hb->clash);
  } else {
    first_heartbeat_ = false;
    clash_logged_.clear();
  }
  const bool registered = hb.ok() && !clashed;

  // Another live process has this node id: it may hold leases under the
  // same name, so this one renews nothing (its leases run out and are
  // reported lost) and takes nothing, rather than serve beside it.
  if (!clashed) renew_due();
  report_lost();

  auto nodes = fleet_.list_nodes(settings_.node_timeout.count());
  if (!nodes) note_error(nodes.error().message);
  auto leases = fleet_.list_leases();
  if (!leases) note_error(leases.error().message);
  refresh_disks();
  if (registered) forget_dead_nodes();

  // Only a node that just heartbeated takes new leases: one the others do
  // not see as alive would take disks they also think are theirs to take.
  if (settings_.serve_disks && registered && nodes && leases) take_orphans(*nodes, *leases);
  take_claims(settings_.serve_disks && registered);

  if (round_error_ != logged_error_) {
    if (round_error_.empty()) {
      spdlog::info("fleet: database reachable again");
    } else {
      spdlog::warn("fleet: {}", round_error_);
    }
    logged_error_ = round_error_;
  }

  FleetSnapshot s = snapshot();
  s.connected = registered && nodes.ok() && leases.ok();
  s.last_error = round_error_;
  // Sorted here, whatever order the store returned: readers binary-search.
  if (nodes) {
    s.nodes = std::move(*nodes);
    std::ranges::sort(s.nodes, {}, &db::NodeRecord::id);
  }
  if (leases) {
    s.db_now_ms = leases->now_ms;
    s.leases = std::move(leases->leases);
    std::ranges::sort(s.leases, {}, &db::LeaseRecord::disk_id);
  }
  s.held = held_ids();
  s.rounds = rounds_;
  snapshot_.publish(std::move(s));
}

std::vector<std::string> FleetKeeper::held_ids() const {
  std::vector<std::string> out;
  const auto now = clock_.steady_now();
  for (const auto& h : leases_.held()) {
    if (leases_.holds(h.disk_id, now)) out.push_back(h.disk_id);
  }
  return out;
}

void FleetKeeper::renew_due() {
  const int64_t lease_ms = settings_.lease.count();
  for (const auto& r : leases_.due(clock_.steady_now())) {
    const auto sent = clock_.steady_now();
    auto ok = fleet_.renew_lease(r.disk_id, settings_.self.id, r.epoch, lease_ms);
    if (!ok) {
      note_error(ok.error().message);  // still due; the deadline keeps approaching
      continue;
    }
    if (!*ok) {
      spdlog::warn("fleet: lease of disk {} (epoch {}) was refused at renewal", r.disk_id, r.epoch);
      leases_.refused(r.disk_id, r.epoch);
      continue;
    }
    if (auto deadline = leases_.renewed(r.disk_id, r.epoch, sent)) {
      if (auto it = deadlines_.find(r.disk_id); it != deadlines_.end()) it->second->extend_to(*deadline);
    } else {
      give_back(r.disk_id, r.epoch);  // reported lost meanwhile: nobody serves it here
    }
  }
}

void FleetKeeper::report_lost() {
  for (const auto& h : leases_.take_lost(clock_.steady_now())) {
    if (auto it = deadlines_.find(h.disk_id); it != deadlines_.end()) {
      it->second->revoke();
      deadlines_.erase(it);
    }
    spdlog::warn("fleet: lost the lease of disk {} (epoch {})", h.disk_id, h.epoch);
    if (callbacks_.on_lost) callbacks_.on_lost(h.disk_id);
  }
}

void FleetKeeper::refresh_disks() {
  // list_disks() reads every disk with its LUNs: once per node timeout is
  // soon enough for a new disk to find an owner.
  const auto now = clock_.steady_now();
  if (disks_read_at_ && now - *disks_read_at_ < settings_.node_timeout) return;
  auto disks = meta_.list_disks();
  if (!disks) {
    note_error(disks.error().message);
    return;
  }
  disks_.clear();
  for (const auto& d : *disks) disks_.insert(d.id);
  disks_read_at_ = now;
  if (callbacks_.on_disk_records) callbacks_.on_disk_records(*disks);
}

void FleetKeeper::note_clash(const db::NodeClash& clash) {
  std::string message = fmt::format(
      "another live process (instance {}) heartbeats as node {}: this one (instance {}) takes and renews no "
      "lease until it stops; every node needs its own [fleet] node_id",
      clash.instance, settings_.self.id, settings_.self.instance);
  if (clash.instance != clash_logged_) {
    spdlog::error("fleet: {}", message);
    clash_logged_ = clash.instance;
  }
  note_error(std::move(message));
}

void FleetKeeper::forget_dead_nodes() {
  // A cheap DELETE on a small table, as often as the disk records are read.
  if (settings_.forget_nodes_after.count() == 0) return;
  const auto now = clock_.steady_now();
  if (forgot_at_ && now - *forgot_at_ < settings_.node_timeout) return;
  forgot_at_ = now;
  const int64_t older_than_ms = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.forget_nodes_after).count();
  auto gone = fleet_.forget_nodes(older_than_ms);
  if (!gone) {
    note_error(gone.error().message);
  } else if (*gone > 0) {
    spdlog::info("fleet: forgot {} node(s) silent for more than {} s", *gone, settings_.forget_nodes_after.count());
  }
}

void FleetKeeper::take_orphans(const std::vector<db::NodeRecord>& nodes, const db::LeaseList& leases) {
  std::map<std::string_view, const db::LeaseRecord*> by_disk;
  for (const auto& l : leases.leases) by_disk.emplace(l.disk_id, &l);
  const auto now = clock_.steady_now();
  // The preferred node gets one node timeout to act; after that anyone may.
  const auto grace = settings_.node_timeout;

  std::set<std::string, std::less<>> orphans;
  for (const auto& disk : disks_) {
    auto it = by_disk.find(disk);
    const bool orphaned = it == by_disk.end() || it->second->owner_node.empty() ||
                          it->second->expires_ms <= leases.now_ms;
    if (orphaned && !leases_.find(disk)) orphans.insert(disk);
  }
  std::erase_if(orphan_since_, [&](const auto& e) { return !orphans.contains(e.first); });
  std::erase_if(backoff_until_, [&](const auto& e) { return now >= e.second; });

  for (const auto& disk : orphans) {
    const auto since = orphan_since_.try_emplace(disk, now).first->second;
    if (backoff_until_.contains(disk)) continue;
    if (preferred_node(disk, nodes) == settings_.self.id || now - since >= grace) acquire(disk);
  }
}

void FleetKeeper::claim(std::string disk_id) {
  {
    std::lock_guard lock(mu_);
    claims_.push_back(std::move(disk_id));
  }
  wake_.notify_all();
}

// After take_orphans: a claimed disk's own lease, granted this round, is not
// in this round's list yet and must not be taken (and its epoch bumped) twice.
void FleetKeeper::take_claims(bool may_take) {
  std::vector<std::string> claimed;
  {
    std::lock_guard lock(mu_);
    claimed.swap(claims_);
  }
  for (auto& id : claimed) {
    if (!may_take || deadlines_.count(id) != 0) continue;  // left to the usual takeover
    disks_.insert(id);
    acquire(id);
  }
}

void FleetKeeper::acquire(const std::string& disk_id) {
  const auto sent = clock_.steady_now();
  auto got = fleet_.acquire_lease(disk_id, settings_.self.id, settings_.storage_client,
                                  settings_.lease.count());
  if (!got) {
    note_error(got.error().message);
    return;
  }
  if (!*got) return;  // another node was faster
  const db::AcquiredLease& a = **got;
  orphan_since_.erase(disk_id);
  auto deadline = std::make_shared<storage::LeaseDeadline>();
  deadline->extend_to(leases_.granted(disk_id, a.lease.epoch, sent));
  deadlines_[disk_id] = deadline;
  spdlog::info("fleet: took the lease of disk {} (epoch {}, previous owner {})", disk_id, a.lease.epoch,
               a.previous && !a.previous->owner_node.empty() ? a.previous->owner_node : "none");
  Status st = ok_status();
  if (callbacks_.on_acquired) st = callbacks_.on_acquired(disk_id, a.lease, a.previous, deadline);
  if (!st) {
    spdlog::warn("fleet: could not serve disk {}: {}; giving its lease back", disk_id, st.error().message);
    backoff_until_[disk_id] = clock_.steady_now() + settings_.node_timeout;
    deadline->revoke();
    deadlines_.erase(disk_id);
    leases_.release(disk_id);
    give_back(disk_id, a.lease.epoch);
  }
}

void FleetKeeper::give_back(const std::string& disk_id, int64_t epoch) {
  if (auto r = fleet_.release_lease(disk_id, settings_.self.id, epoch); !r) note_error(r.error().message);
}

std::optional<db::NodeRecord> FleetKeeper::least_loaded_alive() const {
  return read([](const FleetSnapshot& s) -> std::optional<db::NodeRecord> {
    const db::NodeRecord* best = nullptr;
    for (const auto& n : s.nodes) {
      if (!n.alive) continue;
      if (best == nullptr || n.sessions < best->sessions) best = &n;  // nodes are ordered by id
    }
    if (best == nullptr) return std::nullopt;
    return *best;
  });
}

}  // namespace scsipub::control
