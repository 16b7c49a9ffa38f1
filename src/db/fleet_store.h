#pragma once
// FleetStore: what the nodes of a fleet share through the database — who is
// up (a row per node, refreshed by heartbeats) and who owns which provisioned
// disk (a lease per disk). Only the PostgreSQL MetaStore has one: a fleet
// needs a database every node reaches.
//
// Leases. At most one node owns a disk at a time. A lease carries an epoch
// that grows by one every time it is granted and is never reused (a released
// lease keeps its row and its epoch), so anything the owner writes under a
// lease can be checked against the current owner and epoch. Expiry is judged
// by the database's clock only: nodes never compare their own clocks with
// each other. Every grant, renewal and release is one conditional statement,
// so two nodes racing for one lease cannot both win.
//
// All calls block on the database: call them from a background thread, never
// from an event loop.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "db/meta_store.h"

namespace scsipub::db {

struct NodeRecord {
  std::string id;             // [fleet] node_id
  std::string iscsi_portal;   // "host:port" as initiators reach it (no ",tpgt")
  std::string tls_portal;     // "" when the node has no TLS listener
  std::string http_address;   // "host:port" of its HTTP server, "" when off
  std::string version;        // scsipub version string
  uint32_t sessions = 0;      // load: logged-in sessions at the last heartbeat
  int64_t heartbeat_ms = 0;   // database clock, ms since the Unix epoch
  int64_t started_ms = 0;     // database clock: first heartbeat of this process
  // A random token per process: two live processes configured with one id
  // tell each other apart by it (see heartbeat()). "" on rows of builds that
  // predate it, which never count as another process.
  std::string instance;
  bool alive = false;         // computed by list_nodes: heartbeat within node_timeout

  bool operator==(const NodeRecord&) const = default;
};

struct LeaseRecord {
  std::string disk_id;
  std::string owner_node;    // "" once released
  int64_t epoch = 0;         // grows by 1 on every grant; never reused
  int64_t expires_ms = 0;    // database clock
  std::string owner_client;  // the owner's storage client address (RBD: for blocklisting), may be ""

  bool operator==(const LeaseRecord&) const = default;
};

// Another process heartbeating under this node's id.
struct NodeClash {
  std::string instance;      // its token
  int64_t heartbeat_ms = 0;  // its last heartbeat, database clock

  bool operator==(const NodeClash&) const = default;
};

struct HeartbeatResult {
  int64_t now_ms = 0;               // database clock
  std::optional<NodeClash> clash;   // set: nothing was written
};

// The leases as of one instant of the database clock, so a caller can tell
// which have expired without a clock of its own.
struct LeaseList {
  std::vector<LeaseRecord> leases;  // ordered by disk id
  int64_t now_ms = 0;
};

struct AcquiredLease {
  LeaseRecord lease;
  // The row as it was before this grant (expired or released); nullopt when
  // the disk never had a lease. Its owner_client is whom to fence.
  std::optional<LeaseRecord> previous;
};

// Longest node id / portal / address / client string the store accepts.
inline constexpr std::size_t kMaxFleetField = 256;

class FleetStore {
 public:
  virtual ~FleetStore() = default;
  FleetStore() = default;
  FleetStore(const FleetStore&) = delete;
  FleetStore& operator=(const FleetStore&) = delete;

  // Inserts or refreshes `node`'s row: its portals, version, sessions and
  // instance; heartbeat_ms becomes the database's now (returned). `first`
  // (the first heartbeat of this process) also sets started_ms to now.
  // Refused, in the same statement, when the row carries another instance
  // whose heartbeat is at most `node_timeout_ms` old: another live process
  // has this id, and the answer names it (`clash`) instead of writing. A row
  // left by a process that stopped heartbeating is taken over.
  virtual Result<HeartbeatResult> heartbeat(const NodeRecord& node, bool first, int64_t node_timeout_ms) = 0;
  // Every registered node, ordered by id; `alive` when its last heartbeat is
  // at most `node_timeout_ms` old by the database clock.
  virtual Result<std::vector<NodeRecord>> list_nodes(int64_t node_timeout_ms) = 0;
  // Removes a node's row (a clean stop) if `instance` still holds it: a
  // process that shares its id with a live one never removes the live one's
  // row. False if there was none.
  virtual Result<bool> remove_node(std::string_view node_id, std::string_view instance) = 0;
  // Deletes the rows of nodes silent for more than `older_than_ms` (database
  // clock) that own no unexpired lease; returns how many. Judged inside the
  // DELETE, so a node that heartbeats at the same moment keeps its row.
  virtual Result<int64_t> forget_nodes(int64_t older_than_ms) = 0;

  virtual Result<LeaseList> list_leases() = 0;
  // Grants `node_id` the lease of `disk_id` for `lease_ms` if nobody holds it
  // (never leased, released, or expired by the database clock); the epoch
  // grows by one. nullopt when another grant is still running (including one
  // of `node_id`'s own: renew that). Fails if the disk does not exist.
  virtual Result<std::optional<AcquiredLease>> acquire_lease(std::string_view disk_id,
                                                             std::string_view node_id,
                                                             std::string_view owner_client,
                                                             int64_t lease_ms) = 0;
  // Extends the lease to now + lease_ms if (node_id, epoch) still hold it and
  // it has not expired. False when it was lost.
  virtual Result<bool> renew_lease(std::string_view disk_id, std::string_view node_id,
                                   int64_t epoch, int64_t lease_ms) = 0;
  // Gives the lease up (it keeps its epoch). False if (node_id, epoch) no
  // longer held it.
  virtual Result<bool> release_lease(std::string_view disk_id, std::string_view node_id,
                                     int64_t epoch) = 0;

  // MetaStore::save_pr_state, in one transaction with a check that
  // (node_id, epoch) still holds an unexpired lease of the LU's disk: a node
  // that lost its lease cannot overwrite the new owner's reservations. Fails
  // with a message starting with kLeaseLost when the check fails.
  virtual Status save_pr_state_fenced(const LuKey& lu, const PrState& state,
                                      std::string_view node_id, int64_t epoch) = 0;
};

inline constexpr std::string_view kLeaseLost = "lease lost";

Status validate(const NodeRecord& node);

}  // namespace scsipub::db
