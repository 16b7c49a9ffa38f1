#pragma once
// The fleet keeper: one background thread per node of a fleet (never an event
// loop: every step waits on the database). Each round it
//   1. heartbeats (this node's portals and session count) -- refused while
//      another live process holds this node id's row: then this process
//      takes and renews no lease (its own run out) until that one stops,
//   2. renews the leases it holds that are due (control/lease_keeper.h),
//   3. reports the leases it lost (refused, or local deadline reached),
//   4. reads the node and lease tables,
//   5. takes the lease of every disk nobody holds (never leased, released or
//      expired by the database clock) for which it is the preferred alive
//      node -- rendezvous hashing of the disk id over the alive nodes, so all
//      nodes agree without talking -- or, after a grace period, any disk whose
//      preferred node has not taken it,
//   6. now and then deletes the rows of nodes silent for a long time,
//   7. publishes what it saw as an immutable snapshot that any thread reads
//      without waiting (placement at login, dashboard, metrics).
// The thread also wakes at the earliest local lease deadline, so a lost lease
// is reported when it runs out, not a round later. Serving stops at that
// deadline regardless (storage/fenced_store.h): the keeper only tells the
// rest of the node.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/snapshot_cell.h"
#include "control/clock.h"
#include "control/lease_keeper.h"
#include "db/fleet_store.h"
#include "db/meta_store.h"
#include "storage/fenced_store.h"

namespace scsipub::control {

struct FleetSettings {
  // id, iscsi_portal, tls_portal, http_address, version; the keeper fills in
  // the sessions and the times.
  db::NodeRecord self;
  std::chrono::milliseconds heartbeat{1000};     // round interval; also the renewal interval and margin
  std::chrono::milliseconds node_timeout{5000};  // silent this long: not alive
  std::chrono::milliseconds lease{10000};
  // false: a front node — it heartbeats, redirects and serves the free tier,
  // but never takes a disk's lease (the others take the disks it would have
  // been preferred for after the grace period).
  bool serve_disks = true;
  // Written into every lease this node takes: whom a successor fences
  // (the Ceph client address of this node's RBD connection). May be "".
  std::string storage_client;
  // Node rows silent this long are deleted (unless they own a live lease),
  // so the table does not fill with machines long gone. 0: never.
  std::chrono::seconds forget_nodes_after{24 * 3600};
};

// Checks the relations between the settings (the lease must outlast three
// heartbeats, see LeaseTiming) and the node's identity.
Status validate(const FleetSettings& settings);

// What the keeper saw at its last round.
struct FleetSnapshot {
  bool connected = false;  // the last round reached the database
  std::string last_error;  // of the last round, "" when it went through
  int64_t db_now_ms = 0;   // database clock when the leases were read
  std::vector<db::NodeRecord> nodes;    // ordered by id (byte order: binary-searchable)
  std::vector<db::LeaseRecord> leases;  // ordered by disk id (likewise)
  std::vector<std::string> held;        // disks this node holds and serves, ordered
  uint64_t rounds = 0;
};

struct FleetCallbacks {
  // On the keeper's thread, after this node was granted a disk's lease:
  // fence `previous->owner_client` if there is one, open the disk, serve it
  // while `deadline` is valid (wrap its stores in a FencedStore). A failure
  // gives the lease back; this node leaves the disk to others for a grace
  // period.
  std::function<Status(const std::string& disk_id, const db::LeaseRecord& lease,
                       const std::optional<db::LeaseRecord>& previous,
                       std::shared_ptr<const storage::LeaseDeadline> deadline)>
      on_acquired;
  // On the keeper's thread, once the lease is gone (its deadline has already
  // passed or been revoked): end the disk's sessions, close it.
  std::function<void(const std::string& disk_id)> on_lost;
  // On the keeper's thread, after each read of the disk records (once per
  // node timeout): every provisioned disk of the fleet.
  std::function<void(const std::vector<db::Disk>&)> on_disk_records;
  // Logged-in sessions on this node, reported with every heartbeat.
  std::function<uint32_t()> session_count;
};

// The alive node preferred for `disk_id` (highest rendezvous weight); "" when
// no node is alive. The same on every node and every build.
std::string preferred_node(std::string_view disk_id, const std::vector<db::NodeRecord>& nodes);

class FleetKeeper {
 public:
  // `fleet` and `meta` (its list_disks() says which disks need an owner)
  // must outlive the keeper. The lease deadlines handed to on_acquired are
  // std::chrono::steady_clock instants (FencedStore reads that clock), so
  // `clock.steady_now()` must be that clock outside tests (SystemClock).
  FleetKeeper(db::FleetStore& fleet, db::MetaStore& meta, const Clock& clock, FleetSettings settings,
              FleetCallbacks callbacks);
  ~FleetKeeper();
  FleetKeeper(const FleetKeeper&) = delete;
  FleetKeeper& operator=(const FleetKeeper&) = delete;

  // Registers this process under its node id, before start(): true once
  // its heartbeat went in. Fails when another live process heartbeats under
  // the same id -- its row keeps being refreshed while this one waits up to a
  // node timeout -- so a misconfigured second node stops at startup. The row
  // of a process that died (a quick restart) goes stale within that wait and
  // is taken over. An unreachable database is not a failure: the rounds
  // retry. Waits (real time, heartbeat by heartbeat) for at most about one
  // node timeout; stop() cuts it short.
  Status join();
  void start();
  // Joins the thread, then gives back every lease it holds (on_lost first,
  // so the disk is closed before another node may open it) and removes this
  // node from the node table. Idempotent.
  void stop();

  // One round on the caller's thread (the thread's body; tests drive it
  // directly). Not concurrently with the thread.
  void run_round();

  // Calls fn(const FleetSnapshot&) with the latest snapshot; never waits.
  template <class Fn>
  decltype(auto) read(Fn&& fn) const {
    return snapshot_.read(std::forward<Fn>(fn));
  }
  FleetSnapshot snapshot() const {
    return read([](const FleetSnapshot& s) { return s; });
  }
  // Takes the lease of `disk_id` at the next round (woken now), whichever
  // node is preferred: a disk just created through this node is served at
  // once instead of after the next read of the records. Never blocks.
  void claim(std::string disk_id);

  // The alive node with the fewest sessions (this one included), ties by id.
  std::optional<db::NodeRecord> least_loaded_alive() const;

  const FleetSettings& settings() const { return settings_; }

 private:
  void thread_main();
  void renew_due();
  void report_lost();
  void take_claims(bool may_take);
  void take_orphans(const std::vector<db::NodeRecord>& nodes, const db::LeaseList& leases);
  void acquire(const std::string& disk_id);
  void give_back(const std::string& disk_id, int64_t epoch);
  void note_error(std::string message);
  void refresh_disks();
  void forget_dead_nodes();
  void note_clash(const db::NodeClash& clash);
  std::chrono::steady_clock::time_point next_wake() const;
  std::vector<std::string> held_ids() const;

  db::FleetStore& fleet_;
  db::MetaStore& meta_;
  const Clock& clock_;
  const FleetSettings settings_;  // self.instance always set (a random token when not given)
  const FleetCallbacks callbacks_;

  // Keeper thread only (and stop() after the join).
  LeaseKeeper leases_;
  std::map<std::string, std::shared_ptr<storage::LeaseDeadline>, std::less<>> deadlines_;
  std::set<std::string, std::less<>> disks_;  // every provisioned disk, from list_disks()
  std::optional<std::chrono::steady_clock::time_point> disks_read_at_;
  std::optional<std::chrono::steady_clock::time_point> forgot_at_;
  std::string clash_logged_;  // instance of the last clash logged as an error, "" = none
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> orphan_since_;
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> backoff_until_;
  bool first_heartbeat_ = true;
  std::string round_error_;
  std::string logged_error_;
  uint64_t rounds_ = 0;

  SnapshotCell<FleetSnapshot> snapshot_{FleetSnapshot{}};

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::vector<std::string> claims_;  // guarded by mu_
  bool stopped_ = false;   // guarded by mu_
  std::thread thread_;
};

}  // namespace scsipub::control
