#pragma once
// Private to the db library: the backend's connection state and helpers,
// shared by the files that implement its MetaStore methods.
#include "db/postgres_store.h"
#include <bit>
#include <limits>
#include <mutex>
#include <string>
#include <utility>
#include "db/check_macros.h"
#include "db/pg_conn.h"

namespace scsipub::db {


namespace pg_detail {

using pg::Conn;
using pg::Param;
using pg::QueryError;
using pg::Res;
using pg::Transaction;

// Several statements that must see one snapshot.
inline constexpr std::string_view kReadSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

// pg_advisory_xact_lock key that serializes migrations of every scsipub
// process on one database ("scsipub" in ASCII).
inline constexpr int64_t kMigrationLockKey = 0x73637369707562;

inline constexpr std::string_view kUniqueViolation = "23505";

inline int64_t to_db(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp from_db_time(int64_t v) { return Timestamp(std::chrono::seconds(v)); }

inline std::string q(std::string_view s) {
  std::string out;  // appends, not operator+ chains (g++ 12 -Wrestrict false positive)
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

inline std::string lu_name(const LuKey& lu) {
  return "LU " + q(lu.disk_id) + "/" + std::to_string(lu.lun);
}

// LUN columns are INTEGER (32-bit signed); a larger LUN cannot exist.
inline bool lun_fits(const LuKey& lu) { return lu.lun <= uint32_t{std::numeric_limits<int32_t>::max()}; }

inline Result<Account> read_account(const Res& r, int row) {
  auto created = r.int64(row, 3);
  if (!created) return fail(created.error().message);
  return Account{r.text(row, 0), r.text(row, 1), r.text(row, 2), from_db_time(*created)};
}

inline Result<OperatorToken> read_operator_token(const Res& r, int row) {
  auto created = r.int64(row, 4);
  if (!created) return fail(created.error().message);
  return OperatorToken{r.text(row, 0), r.text(row, 1), r.text(row, 2), r.text(row, 3), from_db_time(*created)};
}

#define SCSIPUB_DISK_SELECT                                                                      \
  "SELECT id, account_id, chap_user, chap_secret, mutual_secret, write_limit, created, expires " \
  "FROM disks "

}  // namespace pg_detail

using namespace pg_detail;  // NOLINT: private header of one library

struct PostgresStore::Impl {
  Impl(Conn c, std::string u) : conn(std::move(c)), url(std::move(u)) {}

  std::mutex mu;
  int version_at_open = -1;  // set by migrate(), read-only after open
  Conn conn;
  std::string url;

  // Per-session settings, applied after every (re)connect.
  Status configure() {
    // A returned write must be durable: never let a server-wide
    // synchronous_commit = off weaken it for this session.
    SCSIPUB_DB_ASSIGN(sync, conn.exec("SHOW synchronous_commit"), std::string("synchronous_commit"));
    if (sync.rows() != 1) return fail("synchronous_commit: no result");
    if (sync.text(0, 0) == "off") {
      SCSIPUB_DB_CHECK(conn.exec_script("SET synchronous_commit = on"),
                       std::string("synchronous_commit"));
    }
    return ok_status();
  }

  // Makes sure the connection is up, re-establishing a dropped one.
  Status ensure_connected() {
    conn.poll();
    if (conn.healthy()) return ok_status();
    SCSIPUB_DB_CHECK(conn.reset(), std::string("PostgreSQL connection lost"));
    return configure();
  }

  // Runs `op` (a write does all its work in one explicit transaction). If it
  // fails because the connection dropped, reconnects once and runs it again —
  // unless its COMMIT had already been sent (the server may have applied it)
  // and it is not `idempotent`; that outcome is reported as unknown.
  template <class F>
  auto run(bool idempotent, F&& op) -> decltype(op()) {
    if (auto st = ensure_connected(); !st) return fail(st.error().message);
    const uint64_t commits = conn.commits_sent();
    auto r = op();
    if (r || conn.healthy()) return r;
    if (!idempotent && conn.commits_sent() != commits) {
      return fail(r.error().message +
                  " (connection lost during COMMIT: the change may or may not have been applied)");
    }
    if (auto st = ensure_connected(); !st) return fail(r.error().message + "; " + st.error().message);
    return op();
  }

  Result<int64_t> count(std::string_view sql, const std::vector<Param>& params,
                        const std::string& what) {
    SCSIPUB_DB_ASSIGN(r, conn.exec(sql, params), what);
    if (r.rows() != 1) return fail(what + ": no result");
    SCSIPUB_DB_ASSIGN(n, r.int64(0, 0), what);
    return n;
  }

  // The applied schema version, after checking that the history is 1..N and
  // that N is one this build knows.
  Result<int> checked_version() {
    const std::string what = "read schema_migrations";
    SCSIPUB_DB_ASSIGN(r,
                      conn.exec("SELECT COUNT(*), COALESCE(MIN(version), 0), "
                                "COALESCE(MAX(version), 0) FROM schema_migrations"),
                      what);
    if (r.rows() != 1) return fail(what + ": no result");
    SCSIPUB_DB_ASSIGN(count, r.int64(0, 0), what);
    SCSIPUB_DB_ASSIGN(min, r.int64(0, 1), what);
    SCSIPUB_DB_ASSIGN(max, r.int64(0, 2), what);
    if (auto problem = migration_history_problem({count, min, max})) return fail(*problem);
    return static_cast<int>(max);
  }

  // One migration per transaction, each under a transaction-scoped advisory
  // lock, so concurrent processes apply every step exactly once.
  Status migrate(int target) {
    for (;;) {
      SCSIPUB_DB_ASSIGN(tx, Transaction::begin(conn), std::string("migrate"));
      SCSIPUB_DB_CHECK(conn.exec("SELECT pg_advisory_xact_lock($1)", {kMigrationLockKey}),
                       std::string("migration lock"));
      SCSIPUB_DB_ASSIGN(schema, conn.exec("SELECT current_schema()"), std::string("migrate"));
      if (schema.rows() != 1 || schema.is_null(0, 0)) {
        return fail("no schema to create the tables in: no schema of search_path exists");
      }
      SCSIPUB_DB_ASSIGN(known,
                        count("SELECT COUNT(*) FROM pg_catalog.pg_tables "
                              "WHERE schemaname = current_schema() AND tablename = $1",
                              {"schema_migrations"}, "migrate"),
                        std::string("migrate"));
      if (known == 0) {
        SCSIPUB_DB_ASSIGN(tables,
                          count("SELECT COUNT(*) FROM pg_catalog.pg_tables "
                                "WHERE schemaname = current_schema()",
                                {}, "migrate"),
                          std::string("migrate"));
        if (tables > 0) {
          return fail("not a scsipub database: schema " + q(schema.text(0, 0)) +
                      " has tables but no schema_migrations");
        }
        SCSIPUB_DB_CHECK(conn.exec_script(kSchemaMigrationsTable),
                         std::string("create schema_migrations"));
      }
      SCSIPUB_DB_ASSIGN(current, checked_version(), std::string("migrate"));
      if (version_at_open < 0) version_at_open = current;
      if (current >= target) return tx.commit();
      const Migration& m = kMigrations[static_cast<std::size_t>(current)];
      const std::string what =
          "migration " + std::to_string(m.version) + " (" + std::string(m.description) + ")";
      // The migrations are portable DDL without parameters; the simple query
      // protocol runs the ';'-separated statements inside this transaction.
      SCSIPUB_DB_CHECK(conn.exec_script(m.sql), what);
      const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      SCSIPUB_DB_CHECK(conn.exec("INSERT INTO schema_migrations (version, description, applied_at) "
                                 "VALUES ($1, $2, $3)",
                                 {int64_t{m.version}, m.description, to_db(now)}),
                       what);
      SCSIPUB_DB_CHECK(tx.commit(), what);
    }
  }

  // --- rows -------------------------------------------------------------------

  Result<std::optional<Account>> one_account(std::string_view sql, std::string_view arg,
                                             const std::string& what) {
    SCSIPUB_DB_ASSIGN(r, conn.exec(sql, {arg}), what);
    if (r.rows() == 0) return std::optional<Account>();
    SCSIPUB_DB_ASSIGN(a, read_account(r, 0), what);
    return std::optional<Account>(std::move(a));
  }

  Status load_luns(Disk& disk) {
    const std::string what = "disk " + q(disk.id) + " LUNs";
    SCSIPUB_DB_ASSIGN(
        r, conn.exec("SELECT lun, image FROM disk_luns WHERE disk_id = $1 ORDER BY lun", {disk.id}),
        what);
    disk.luns.clear();
    for (int i = 0; i < r.rows(); ++i) {
      SCSIPUB_DB_ASSIGN(lun, r.int64(i, 0), what);
      if (lun != static_cast<int64_t>(disk.luns.size())) {
        return fail(what + ": LUN numbers are not 0..n-1 (database damaged)");
      }
      disk.luns.push_back(r.text(i, 1));
    }
    if (disk.luns.empty()) return fail(what + ": disk has no LUNs (database damaged)");
    return ok_status();
  }

  // Runs a disk query (columns as in SCSIPUB_DISK_SELECT) and loads each
  // disk's LUNs, all in one read snapshot.
  Result<std::vector<Disk>> disks(std::string_view sql, const std::vector<Param>& params,
                                  const std::string& what) {
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(conn, kReadSnapshot), what);
    std::vector<Disk> out;
    {
      SCSIPUB_DB_ASSIGN(r, conn.exec(sql, params), what);
      for (int i = 0; i < r.rows(); ++i) {
        Disk d;
        d.id = r.text(i, 0);
        d.account_id = r.text(i, 1);
        d.chap_user = r.text(i, 2);
        d.chap_secret = r.text(i, 3);
        d.mutual_secret = r.optional_text(i, 4);
        SCSIPUB_DB_ASSIGN(limit, r.int64(i, 5), what);
        if (limit < 0) return fail(what + ": negative write_limit (database damaged)");
        d.write_limit = static_cast<uint64_t>(limit);
        SCSIPUB_DB_ASSIGN(created, r.int64(i, 6), what);
        d.created = from_db_time(created);
        SCSIPUB_DB_ASSIGN(expires, r.optional_int64(i, 7), what);
        if (expires) d.expires = from_db_time(*expires);
        out.push_back(std::move(d));
      }
    }
    for (auto& d : out) SCSIPUB_DB_CHECK(load_luns(d), what);
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return out;
  }

  Result<std::optional<Disk>> one_disk(std::string_view sql, std::string_view arg,
                                       const std::string& what) {
    SCSIPUB_DB_ASSIGN(found, disks(sql, {arg}, what), what);
    if (found.empty()) return std::optional<Disk>();
    return std::optional<Disk>(std::move(found.front()));
  }

  Result<bool> delete_account_where(std::string_view owner_sql, std::string_view delete_sql,
                                    std::string_view arg, const std::string& what) {
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(conn), what);
    SCSIPUB_DB_ASSIGN(owned, count(owner_sql, {arg}, what), what);
    if (owned > 0) {
      return fail(what + ": the account still owns " + std::to_string(owned) +
                  " disk(s); delete them first");
    }
    // A disk created concurrently still trips the ON DELETE RESTRICT key.
    SCSIPUB_DB_ASSIGN(r, conn.exec(delete_sql, {arg}), what);
    const bool deleted = r.affected() > 0;
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return deleted;
  }

  Status save_pr_state(const LuKey& lu, const PrState& state, const std::string& what) {
    if (!lun_fits(lu)) return fail(what + ": no such LU");
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(conn), what);
    SCSIPUB_DB_CHECK(save_pr_state_rows(lu, state, what), what);
    SCSIPUB_DB_CHECK(tx.commit(), what);  // the destructor rolls back on any failure
    return ok_status();
  }

  // The statements of save_pr_state, inside the caller's transaction.
  Status save_pr_state_rows(const LuKey& lu, const PrState& state, const std::string& what) {
    if (!lun_fits(lu)) return fail(what + ": no such LU");
    const Param disk_id(lu.disk_id);
    const Param lun(int64_t{lu.lun});
    {
      // Locks the LU row: concurrent saves of one LU (from any node) queue up
      // here, and the disk cannot be deleted under us.
      SCSIPUB_DB_ASSIGN(r,
                        conn.exec("SELECT 1 FROM disk_luns WHERE disk_id = $1 AND lun = $2 "
                                  "FOR UPDATE",
                                  {disk_id, lun}),
                        what);
      if (r.rows() == 0) return fail(what + ": no such LU");
    }
    // Cascades to the old registrations.
    SCSIPUB_DB_CHECK(
        conn.exec("DELETE FROM pr_state WHERE disk_id = $1 AND lun = $2", {disk_id, lun}), what);
    std::optional<int64_t> holder;
    if (state.holder) holder = int64_t{*state.holder};
    SCSIPUB_DB_CHECK(conn.exec("INSERT INTO pr_state (disk_id, lun, generation, holder, pr_type, "
                               "pr_scope) VALUES ($1, $2, $3, $4, $5, $6)",
                               {disk_id, lun, int64_t{state.generation}, holder,
                                int64_t{state.type}, int64_t{state.scope}}),
                     what);
    for (std::size_t i = 0; i < state.registrations.size(); ++i) {
      const auto& reg = state.registrations[i];
      QueryError err;
      auto r = conn.exec(
          "INSERT INTO pr_registrations (disk_id, lun, seq, initiator_port, target_port, "
          "reservation_key, aptpl) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          {disk_id, lun, static_cast<int64_t>(i), reg.initiator_port, reg.target_port,
           std::bit_cast<int64_t>(reg.key),  // BIGINT is signed; keep all 64 bits
           int64_t{reg.aptpl ? 1 : 0}},
          &err);
      if (!r) {
        if (err.sqlstate == kUniqueViolation) {
          return fail(what + ": I_T nexus " + q(reg.initiator_port) + "/" + q(reg.target_port) +
                      " registered twice");
        }
        return fail(what + ": " + r.error().message);
      }
    }
    return ok_status();
  }

  Result<std::optional<PrState>> load_pr_state(const LuKey& lu, const std::string& what) {
    if (!lun_fits(lu)) return std::optional<PrState>();
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(conn, kReadSnapshot), what);
    const Param disk_id(lu.disk_id);
    const Param lun(int64_t{lu.lun});
    PrState state;
    {
      SCSIPUB_DB_ASSIGN(r,
                        conn.exec("SELECT generation, holder, pr_type, pr_scope FROM pr_state "
                                  "WHERE disk_id = $1 AND lun = $2",
                                  {disk_id, lun}),
                        what);
      if (r.rows() == 0) {
        SCSIPUB_DB_CHECK(tx.commit(), what);
        return std::optional<PrState>();
      }
      SCSIPUB_DB_ASSIGN(gen, r.int64(0, 0), what);
      SCSIPUB_DB_ASSIGN(holder, r.optional_int64(0, 1), what);
      SCSIPUB_DB_ASSIGN(type, r.int64(0, 2), what);
      SCSIPUB_DB_ASSIGN(scope, r.int64(0, 3), what);
      if (gen < 0 || gen > int64_t{std::numeric_limits<uint32_t>::max()} || type < 0 ||
          type > 255 || scope < 0 || scope > 255 ||
          (holder && (*holder < 0 || *holder > int64_t{std::numeric_limits<uint32_t>::max()}))) {
        return fail(what + ": value out of range (database damaged)");
      }
      state.generation = static_cast<uint32_t>(gen);
      state.type = static_cast<uint8_t>(type);
      state.scope = static_cast<uint8_t>(scope);
      if (holder) state.holder = static_cast<uint32_t>(*holder);
    }
    {
      SCSIPUB_DB_ASSIGN(r,
                        conn.exec("SELECT seq, initiator_port, target_port, reservation_key, "
                                  "aptpl FROM pr_registrations WHERE disk_id = $1 AND lun = $2 "
                                  "ORDER BY seq",
                                  {disk_id, lun}),
                        what);
      for (int i = 0; i < r.rows(); ++i) {
        SCSIPUB_DB_ASSIGN(seq, r.int64(i, 0), what);
        if (seq != static_cast<int64_t>(state.registrations.size())) {
          return fail(what + ": registration order damaged");
        }
        SCSIPUB_DB_ASSIGN(key, r.int64(i, 3), what);
        SCSIPUB_DB_ASSIGN(aptpl, r.int64(i, 4), what);
        state.registrations.push_back(
            PrRegistration{r.text(i, 1), r.text(i, 2), std::bit_cast<uint64_t>(key), aptpl != 0});
      }
    }
    SCSIPUB_DB_CHECK(tx.commit(), what);
    SCSIPUB_DB_CHECK(validate(state), what + " (database damaged)");
    return std::optional<PrState>(std::move(state));
  }
};

}  // namespace scsipub::db
