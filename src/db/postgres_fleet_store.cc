#include "db/postgres_fleet_store.h"

#include <limits>
#include <mutex>
#include <string>
#include <utility>

#include "db/check_macros.h"
#include "db/pg_conn.h"
#include "db/postgres_store_impl.h"

namespace scsipub::db {

namespace {

// The server's wall clock in ms since the Unix epoch. clock_timestamp(), not
// now(): now() is the start of the transaction, and a statement that waited
// for a row lock must judge expiry at the moment it runs.
#define SCSIPUB_DB_NOW_MS "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT"

constexpr std::string_view kForeignKeyViolation = "23503";

// Leases are asked for in ms; a day is far beyond any sane setting and keeps
// now + lease far from BIGINT overflow.
constexpr int64_t kMaxLeaseMs = 24 * 3600 * 1000;

Status check_lease_ms(int64_t lease_ms) {
  if (lease_ms <= 0 || lease_ms > kMaxLeaseMs) {
    return fail("lease of " + std::to_string(lease_ms) + " ms is out of range");
  }
  return ok_status();
}

Status check_field(std::string_view name, std::string_view value) {
  if (value.size() > kMaxFleetField) return fail(std::string(name) + " too long");
  return ok_status();
}

Result<LeaseRecord> read_lease(const Res& r, int row) {
  auto epoch = r.int64(row, 2);
  if (!epoch) return fail(epoch.error().message);
  auto expires = r.int64(row, 3);
  if (!expires) return fail(expires.error().message);
  return LeaseRecord{r.text(row, 0), r.text(row, 1), *epoch, *expires, r.text(row, 4)};
}

#define SCSIPUB_LEASE_COLUMNS "disk_id, owner_node, epoch, expires_ms, owner_client"

}  // namespace

Status validate(const NodeRecord& node) {
  if (node.id.empty()) return fail("fleet node: empty id");
  SCSIPUB_DB_CHECK(check_field("node id", node.id), std::string("fleet node"));
  SCSIPUB_DB_CHECK(check_field("iSCSI portal", node.iscsi_portal), "fleet node " + node.id);
  SCSIPUB_DB_CHECK(check_field("TLS portal", node.tls_portal), "fleet node " + node.id);
  SCSIPUB_DB_CHECK(check_field("HTTP address", node.http_address), "fleet node " + node.id);
  SCSIPUB_DB_CHECK(check_field("version", node.version), "fleet node " + node.id);
  return ok_status();
}

PostgresFleetStore::PostgresFleetStore(std::unique_ptr<PostgresStore::Impl> impl)
    : impl_(std::move(impl)) {}
PostgresFleetStore::~PostgresFleetStore() = default;

Result<std::unique_ptr<PostgresFleetStore>> PostgresFleetStore::open(const std::string& url) {
  auto conn = Conn::connect(url);
  if (!conn) return fail(conn.error().message);
  auto impl = std::make_unique<PostgresStore::Impl>(std::move(*conn), url);
  if (auto st = impl->configure(); !st) return fail("open fleet store: " + st.error().message);
  return std::unique_ptr<PostgresFleetStore>(new PostgresFleetStore(std::move(impl)));
}

// --- nodes ------------------------------------------------------------------------

Result<HeartbeatResult> PostgresFleetStore::heartbeat(const NodeRecord& n, bool first, int64_t node_timeout_ms) {
  SCSIPUB_DB_CHECK(validate(n), std::string("heartbeat"));
  if (node_timeout_ms <= 0 || node_timeout_ms > kMaxLeaseMs) return fail("heartbeat: node timeout out of range");
  std::lock_guard lock(impl_->mu);
  // Setting the row to the same values again is harmless: safe to rerun.
  return impl_->run(true, [&]() -> Result<HeartbeatResult> {
    const std::string what = "heartbeat of node " + q(n.id);
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    // One statement decides: a racing first heartbeat of another process
    // with this id waits on the row this one inserts, then sees it fresh.
    // started_ms restarts with a new process (first, or a takeover of a
    // stale row of another instance). The clock is read once for both
    // times, so a first heartbeat's start equals its heartbeat.
    SCSIPUB_DB_ASSIGN(
        r,
        impl_->conn.exec(
            "INSERT INTO fleet_nodes (id, iscsi_portal, tls_portal, http_address, version, "
            "sessions, heartbeat_ms, started_ms, instance) SELECT $1, $2, $3, $4, $5, $6, t.now, t.now, $8 "
            "FROM (SELECT " SCSIPUB_DB_NOW_MS " AS now) t ON CONFLICT (id) DO UPDATE SET "
            "iscsi_portal = EXCLUDED.iscsi_portal, tls_portal = EXCLUDED.tls_portal, "
            "http_address = EXCLUDED.http_address, version = EXCLUDED.version, "
            "sessions = EXCLUDED.sessions, heartbeat_ms = EXCLUDED.heartbeat_ms, "
            "started_ms = CASE WHEN $7 = 1 OR fleet_nodes.instance <> EXCLUDED.instance "
            "THEN EXCLUDED.started_ms ELSE fleet_nodes.started_ms END, instance = EXCLUDED.instance "
            "WHERE fleet_nodes.instance = EXCLUDED.instance OR fleet_nodes.instance = '' OR "
            "fleet_nodes.heartbeat_ms < " SCSIPUB_DB_NOW_MS " - $9 "
            "RETURNING heartbeat_ms",
            {n.id, n.iscsi_portal, n.tls_portal, n.http_address, n.version, int64_t{n.sessions},
             int64_t{first ? 1 : 0}, n.instance, node_timeout_ms}),
        what);
    HeartbeatResult out;
    if (r.rows() == 1) {
      SCSIPUB_DB_ASSIGN(now, r.int64(0, 0), what);
      out.now_ms = now;
    } else {
      // The refused UPDATE locked the row: it is still there to be read.
      SCSIPUB_DB_ASSIGN(other,
                        impl_->conn.exec("SELECT instance, heartbeat_ms, " SCSIPUB_DB_NOW_MS
                                         " FROM fleet_nodes WHERE id = $1",
                                         {n.id}),
                        what);
      if (other.rows() != 1) return fail(what + ": no result");
      SCSIPUB_DB_ASSIGN(heartbeat, other.int64(0, 1), what);
      SCSIPUB_DB_ASSIGN(now, other.int64(0, 2), what);
      out.now_ms = now;
      out.clash = NodeClash{other.text(0, 0), heartbeat};
    }
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return out;
  });
}

Result<std::vector<NodeRecord>> PostgresFleetStore::list_nodes(int64_t node_timeout_ms) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&]() -> Result<std::vector<NodeRecord>> {
    const std::string what = "list fleet nodes";
    // COLLATE "C": byte order, the order std::string compares in, whatever
    // the database's collation (readers binary-search the list).
    SCSIPUB_DB_ASSIGN(r,
                      impl_->conn.exec("SELECT id, iscsi_portal, tls_portal, http_address, version, "
                                       "sessions, heartbeat_ms, started_ms, " SCSIPUB_DB_NOW_MS
                                       ", instance FROM fleet_nodes ORDER BY id COLLATE \"C\""),
                      what);
    std::vector<NodeRecord> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      NodeRecord n{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3), r.text(i, 4)};
      SCSIPUB_DB_ASSIGN(sessions, r.int64(i, 5), what);
      SCSIPUB_DB_ASSIGN(heartbeat, r.int64(i, 6), what);
      SCSIPUB_DB_ASSIGN(started, r.int64(i, 7), what);
      SCSIPUB_DB_ASSIGN(now, r.int64(i, 8), what);
      if (sessions < 0 || sessions > int64_t{std::numeric_limits<uint32_t>::max()}) {
        return fail(what + ": sessions out of range (database damaged)");
      }
      n.sessions = static_cast<uint32_t>(sessions);
      n.heartbeat_ms = heartbeat;
      n.started_ms = started;
      n.instance = r.text(i, 9);
      n.alive = now - heartbeat <= node_timeout_ms;
      out.push_back(std::move(n));
    }
    return out;
  });
}

Result<bool> PostgresFleetStore::remove_node(std::string_view node_id, std::string_view instance) {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&]() -> Result<bool> {
    const std::string what = "remove node " + q(node_id);
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    SCSIPUB_DB_ASSIGN(
        r, impl_->conn.exec("DELETE FROM fleet_nodes WHERE id = $1 AND instance = $2", {node_id, instance}),
        what);
    const bool deleted = r.affected() > 0;
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return deleted;
  });
}

Result<int64_t> PostgresFleetStore::forget_nodes(int64_t older_than_ms) {
  const std::string what = "forget silent fleet nodes";
  if (older_than_ms <= 0) return fail(what + ": age out of range");
  std::lock_guard lock(impl_->mu);
  // Deleting what is already gone again is harmless: safe to rerun. A
  // heartbeat racing the DELETE either waits for it and inserts the row
  // afresh, or updates first, and the DELETE re-checks the new heartbeat.
  return impl_->run(true, [&]() -> Result<int64_t> {
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    SCSIPUB_DB_ASSIGN(r,
                      impl_->conn.exec("DELETE FROM fleet_nodes WHERE heartbeat_ms < " SCSIPUB_DB_NOW_MS
                                       " - $1 AND NOT EXISTS (SELECT 1 FROM disk_leases WHERE "
                                       "disk_leases.owner_node = fleet_nodes.id AND "
                                       "disk_leases.expires_ms > " SCSIPUB_DB_NOW_MS ")",
                                       {older_than_ms}),
                      what);
    const int64_t deleted = r.affected();
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return deleted;
  });
}

// --- leases -----------------------------------------------------------------------

Result<LeaseList> PostgresFleetStore::list_leases() {
  std::lock_guard lock(impl_->mu);
  return impl_->run(true, [&]() -> Result<LeaseList> {
    const std::string what = "list leases";
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn, kReadSnapshot), what);
    LeaseList out;
    {
      SCSIPUB_DB_ASSIGN(r, impl_->conn.exec("SELECT " SCSIPUB_DB_NOW_MS), what);
      if (r.rows() != 1) return fail(what + ": no result");
      SCSIPUB_DB_ASSIGN(now, r.int64(0, 0), what);
      out.now_ms = now;
    }
    SCSIPUB_DB_ASSIGN(
        r, impl_->conn.exec("SELECT " SCSIPUB_LEASE_COLUMNS " FROM disk_leases ORDER BY disk_id COLLATE \"C\""),
        what);
    out.leases.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      SCSIPUB_DB_ASSIGN(lease, read_lease(r, i), what);
      out.leases.push_back(std::move(lease));
    }
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return out;
  });
}

Result<std::optional<AcquiredLease>> PostgresFleetStore::acquire_lease(std::string_view disk_id,
                                                                       std::string_view node_id,
                                                                       std::string_view owner_client,
                                                                       int64_t lease_ms) {
  const std::string what = "acquire lease of disk " + q(disk_id) + " for " + q(node_id);
  SCSIPUB_DB_CHECK(check_lease_ms(lease_ms), what);
  if (node_id.empty()) return fail(what + ": empty node id");
  SCSIPUB_DB_CHECK(check_field("node id", node_id), what);
  SCSIPUB_DB_CHECK(check_field("client address", owner_client), what);
  std::lock_guard lock(impl_->mu);
  // Not idempotent: a rerun after a lost COMMIT reply would find the lease
  // held (by us) and report it as taken by someone; the caller's next round
  // sees the row and its expiry, so nothing is lost but a round.
  return impl_->run(false, [&]() -> Result<std::optional<AcquiredLease>> {
    auto& conn = impl_->conn;
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(conn), what);
    std::optional<LeaseRecord> previous;
    {
      // Locks an existing row: a concurrent grant of the same disk waits here
      // and then reads the row this one wrote.
      SCSIPUB_DB_ASSIGN(r,
                        conn.exec("SELECT " SCSIPUB_LEASE_COLUMNS
                                  " FROM disk_leases WHERE disk_id = $1 FOR UPDATE",
                                  {disk_id}),
                        what);
      if (r.rows() == 1) {
        SCSIPUB_DB_ASSIGN(row, read_lease(r, 0), what);
        previous = std::move(row);
      }
    }
    // Granted only if the row is absent (a racing INSERT of the same disk
    // lands in ON CONFLICT once the other commits, and its WHERE then sees a
    // live lease) or expired or released, judged by the clock right now.
    QueryError err;
    auto r = conn.exec(
        "INSERT INTO disk_leases (" SCSIPUB_LEASE_COLUMNS ") VALUES ($1, $2, 1, " SCSIPUB_DB_NOW_MS
        " + $3, $4) ON CONFLICT (disk_id) DO UPDATE SET owner_node = EXCLUDED.owner_node, "
        "epoch = disk_leases.epoch + 1, expires_ms = EXCLUDED.expires_ms, "
        "owner_client = EXCLUDED.owner_client "
        "WHERE disk_leases.owner_node = '' OR disk_leases.expires_ms <= " SCSIPUB_DB_NOW_MS
        " RETURNING " SCSIPUB_LEASE_COLUMNS,
        {disk_id, node_id, lease_ms, owner_client}, &err);
    if (!r) {
      if (err.sqlstate == kForeignKeyViolation) return fail(what + ": no such disk");
      return fail(what + ": " + r.error().message);
    }
    if (r->rows() == 0) {
      SCSIPUB_DB_CHECK(tx.commit(), what);
      return std::optional<AcquiredLease>();
    }
    SCSIPUB_DB_ASSIGN(lease, read_lease(*r, 0), what);
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return std::optional<AcquiredLease>(AcquiredLease{std::move(lease), std::move(previous)});
  });
}

Result<bool> PostgresFleetStore::renew_lease(std::string_view disk_id, std::string_view node_id,
                                             int64_t epoch, int64_t lease_ms) {
  const std::string what = "renew lease of disk " + q(disk_id);
  SCSIPUB_DB_CHECK(check_lease_ms(lease_ms), what);
  std::lock_guard lock(impl_->mu);
  // Not rerun after a lost COMMIT reply: the caller counts a failed renewal
  // as not renewed, which only brings its local deadline closer.
  return impl_->run(false, [&]() -> Result<bool> {
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    SCSIPUB_DB_ASSIGN(r,
                      impl_->conn.exec("UPDATE disk_leases SET expires_ms = " SCSIPUB_DB_NOW_MS
                                       " + $4 WHERE disk_id = $1 AND owner_node = $2 AND epoch = $3 "
                                       "AND expires_ms > " SCSIPUB_DB_NOW_MS,
                                       {disk_id, node_id, epoch, lease_ms}),
                      what);
    const bool renewed = r.affected() == 1;
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return renewed;
  });
}

Result<bool> PostgresFleetStore::release_lease(std::string_view disk_id, std::string_view node_id,
                                               int64_t epoch) {
  const std::string what = "release lease of disk " + q(disk_id);
  std::lock_guard lock(impl_->mu);
  // Releasing twice is harmless: safe to rerun.
  return impl_->run(true, [&]() -> Result<bool> {
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    SCSIPUB_DB_ASSIGN(r,
                      impl_->conn.exec("UPDATE disk_leases SET owner_node = '', expires_ms = 0, "
                                       "owner_client = '' WHERE disk_id = $1 AND owner_node = $2 "
                                       "AND epoch = $3",
                                       {disk_id, node_id, epoch}),
                      what);
    const bool released = r.affected() == 1;
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return released;
  });
}

Status PostgresFleetStore::save_pr_state_fenced(const LuKey& lu, const PrState& state,
                                                std::string_view node_id, int64_t epoch) {
  const std::string what = "save PR state of " + lu_name(lu);
  SCSIPUB_DB_CHECK(validate(state), what);
  std::lock_guard lock(impl_->mu);
  // Replacing the whole state is idempotent (see PostgresStore::save_pr_state).
  return impl_->run(true, [&]() -> Status {
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(impl_->conn), what);
    {
      // FOR SHARE: a grant to another node (an UPDATE of this row) waits
      // until this transaction ends, so the new owner loads the PR state
      // only after this save is in, or refuses it if it came first.
      SCSIPUB_DB_ASSIGN(r,
                        impl_->conn.exec("SELECT 1 FROM disk_leases WHERE disk_id = $1 AND "
                                         "owner_node = $2 AND epoch = $3 AND expires_ms > " SCSIPUB_DB_NOW_MS
                                         " FOR SHARE",
                                         {lu.disk_id, node_id, epoch}),
                        what);
      if (r.rows() != 1) {
        return fail(std::string(kLeaseLost) + ": " + what + ": node " + q(node_id) + " epoch " +
                    std::to_string(epoch) + " no longer holds the disk");
      }
    }
    SCSIPUB_DB_CHECK(impl_->save_pr_state_rows(lu, state, what), what);
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return ok_status();
  });
}

#undef SCSIPUB_LEASE_COLUMNS
#undef SCSIPUB_DB_NOW_MS

}  // namespace scsipub::db
