#pragma once
// Private to the db library: the backend's connection state and helpers,
// shared by the files that implement its MetaStore methods.
#include "db/sqlite_store.h"
#include <algorithm>
#include <bit>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include "db/check_macros.h"
#include "db/sqlite_stmt.h"

namespace scsipub::db {


// Borrows the cached prepared statement for `sql` as `var` (reset on scope exit).
#define SCSIPUB_DB_STMT(var, sql, what)                                   \
  SCSIPUB_DB_ASSIGN(SCSIPUB_DB_CONCAT(var, _ptr_), statement(sql), what); \
  sqlite::StatementLease var(*SCSIPUB_DB_CONCAT(var, _ptr_))

namespace sqlite_detail {

using sqlite::Connection;
using sqlite::Statement;
using sqlite::Transaction;

inline int64_t to_db(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp from_db_time(int64_t v) { return Timestamp(std::chrono::seconds(v)); }

inline bool is_constraint(int rc) { return (rc & 0xff) == SQLITE_CONSTRAINT; }

inline Account read_account(const Statement& s) {
  return Account{s.text(0), s.text(1), s.text(2), from_db_time(s.int64(3))};
}

inline OperatorToken read_operator_token(const Statement& s) {
  return OperatorToken{s.text(0), s.text(1), s.text(2), s.text(3), from_db_time(s.int64(4))};
}

inline std::string q(std::string_view s) {
  // Appends rather than operator+ chains: g++ 12 -O3 raises a false -Wrestrict
  // on `"'" + std::string(...)` (GCC bug 105329).
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

inline std::string lu_name(const LuKey& lu) {
  return "LU " + q(lu.disk_id) + "/" + std::to_string(lu.lun);
}

}  // namespace sqlite_detail

using namespace sqlite_detail;  // NOLINT: private header of one library

struct SqliteStore::Impl {
  Impl(Connection c, std::string p) : conn(std::move(c)), path(std::move(p)) {}

  std::mutex mu;
  int version_at_open = -1;  // set by migrate(), read-only after open
  Connection conn;  // declared before the cache: statements finalize first
  std::unordered_map<std::string_view, Statement> cache;  // keys: string literals
  std::string path;

  // `sql` must have static storage (a literal): the cache keeps the view.
  Result<Statement*> statement(std::string_view sql) {
    auto it = cache.find(sql);
    if (it == cache.end()) {
      auto prepared = Statement::prepare(conn, sql);
      if (!prepared) return fail(prepared.error().message);
      it = cache.emplace(sql, std::move(*prepared)).first;
    }
    return &it->second;
  }

  Status configure(const SqliteOptions& options) {
    const auto ms = options.busy_timeout.count();
    if (sqlite3_busy_timeout(conn.get(), static_cast<int>(std::min<int64_t>(
                                             ms, std::numeric_limits<int>::max()))) != SQLITE_OK) {
      return fail("busy_timeout: " + conn.errmsg());
    }
    {
      // The first statement that reads the file: a foreign file fails here.
      SCSIPUB_DB_ASSIGN(wal, Statement::prepare(conn, "PRAGMA journal_mode = WAL"),
                        std::string("not a usable SQLite database"));
      SCSIPUB_DB_ASSIGN(row, wal.step(), std::string("not a usable SQLite database"));
      if (!row || wal.text(0) != "wal") return fail("cannot switch the database to WAL mode");
    }
    // In WAL mode FULL syncs the log on every commit: a returned write survives
    // power loss, which PR OUT and provisioning rely on.
    SCSIPUB_DB_CHECK(conn.exec("PRAGMA synchronous = FULL"), std::string("synchronous"));
    {
      SCSIPUB_DB_ASSIGN(sync, Statement::prepare(conn, "PRAGMA synchronous"),
                        std::string("synchronous"));
      SCSIPUB_DB_ASSIGN(sync_row, sync.step(), std::string("synchronous"));
      if (!sync_row || sync.int64(0) != 2) return fail("cannot set synchronous = FULL");
    }
    SCSIPUB_DB_CHECK(conn.exec("PRAGMA foreign_keys = ON"), std::string("foreign_keys"));
    SCSIPUB_DB_ASSIGN(fk, Statement::prepare(conn, "PRAGMA foreign_keys"),
                      std::string("foreign_keys"));
    SCSIPUB_DB_ASSIGN(fk_row, fk.step(), std::string("foreign_keys"));
    if (!fk_row || fk.int64(0) != 1) return fail("this SQLite build cannot enforce foreign keys");
    return ok_status();
  }

  // The applied schema version, after checking that the history is 1..N and
  // that N is one this build knows.
  Result<int> checked_version() {
    SCSIPUB_DB_STMT(s,
                    "SELECT COUNT(*), COALESCE(MIN(version), 0), COALESCE(MAX(version), 0) "
                    "FROM schema_migrations",
                    std::string("schema_migrations"));
    SCSIPUB_DB_ASSIGN(row, s->step(), std::string("read schema_migrations"));
    if (!row) return fail("read schema_migrations: no result");
    const int64_t count = s->int64(0), min = s->int64(1), max = s->int64(2);
    if (auto problem = migration_history_problem({count, min, max})) return fail(*problem);
    return static_cast<int>(max);
  }

  Result<bool> has_table(std::string_view name) {
    SCSIPUB_DB_STMT(s, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                    std::string("sqlite_master"));
    s->bind(1, name);
    SCSIPUB_DB_ASSIGN(row, s->step(), std::string("sqlite_master"));
    return row && s->int64(0) > 0;
  }

  Result<int64_t> table_count() {
    SCSIPUB_DB_STMT(s, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
                    std::string("sqlite_master"));
    SCSIPUB_DB_ASSIGN(row, s->step(), std::string("sqlite_master"));
    return row ? s->int64(0) : 0;
  }

  // One migration per transaction; the version is re-read under the write
  // lock each time, so two processes opening the same file cannot both apply
  // the same step.
  Status migrate(int target) {
    for (;;) {
      SCSIPUB_DB_ASSIGN(tx, Transaction::begin(conn, Transaction::Mode::kImmediate),
                        std::string("migrate"));
      SCSIPUB_DB_ASSIGN(known, has_table("schema_migrations"), std::string("migrate"));
      if (!known) {
        SCSIPUB_DB_ASSIGN(tables, table_count(), std::string("migrate"));
        if (tables > 0) {
          return fail("not a scsipub database: it has tables but no schema_migrations");
        }
        SCSIPUB_DB_CHECK(conn.exec(kSchemaMigrationsTable),
                         std::string("create schema_migrations"));
      }
      SCSIPUB_DB_ASSIGN(current, checked_version(), std::string("migrate"));
      if (version_at_open < 0) version_at_open = current;
      if (current >= target) return tx.commit();
      const Migration& m = kMigrations[static_cast<std::size_t>(current)];
      const std::string what =
          "migration " + std::to_string(m.version) + " (" + std::string(m.description) + ")";
      SCSIPUB_DB_CHECK(conn.exec(m.sql), what);
      {
        SCSIPUB_DB_STMT(ins,
                        "INSERT INTO schema_migrations (version, description, applied_at) "
                        "VALUES (?, ?, ?)",
                        what);
        const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
        ins->bind(1, int64_t{m.version}).bind(2, m.description).bind(3, to_db(now));
        SCSIPUB_DB_CHECK(ins->run(), what);
      }
      SCSIPUB_DB_CHECK(tx.commit(), what);
    }
  }

  // --- rows -------------------------------------------------------------------

  Result<std::optional<Account>> one_account(std::string_view sql, std::string_view arg,
                                             const std::string& what) {
    SCSIPUB_DB_STMT(s, sql, what);
    s->bind(1, arg);
    SCSIPUB_DB_ASSIGN(row, s->step(), what);
    if (!row) return std::optional<Account>();
    return std::optional<Account>(read_account(*s));
  }

  Status load_luns(Disk& disk) {
    const std::string what = "disk " + q(disk.id) + " LUNs";
    SCSIPUB_DB_STMT(s, "SELECT lun, image FROM disk_luns WHERE disk_id = ? ORDER BY lun", what);
    s->bind(1, disk.id);
    disk.luns.clear();
    for (;;) {
      SCSIPUB_DB_ASSIGN(row, s->step(), what);
      if (!row) break;
      if (s->int64(0) != static_cast<int64_t>(disk.luns.size())) {
        return fail(what + ": LUN numbers are not 0..n-1 (database damaged)");
      }
      disk.luns.push_back(s->text(1));
    }
    if (disk.luns.empty()) return fail(what + ": disk has no LUNs (database damaged)");
    return ok_status();
  }

  // Runs a disk query (columns as in kDiskColumns, one text parameter unless
  // arg is empty) and loads each disk's LUNs. Caller holds a read transaction.
  Result<std::vector<Disk>> disks(std::string_view sql, std::optional<std::string_view> arg,
                                  const std::string& what) {
    std::vector<Disk> out;
    {
      SCSIPUB_DB_STMT(s, sql, what);
      if (arg) s->bind(1, *arg);
      for (;;) {
        SCSIPUB_DB_ASSIGN(row, s->step(), what);
        if (!row) break;
        Disk d;
        d.id = s->text(0);
        d.account_id = s->text(1);
        d.chap_user = s->text(2);
        d.chap_secret = s->text(3);
        d.mutual_secret = s->optional_text(4);
        const int64_t limit = s->int64(5);
        if (limit < 0) return fail(what + ": negative write_limit (database damaged)");
        d.write_limit = static_cast<uint64_t>(limit);
        d.created = from_db_time(s->int64(6));
        if (auto e = s->optional_int64(7)) d.expires = from_db_time(*e);
        out.push_back(std::move(d));
      }
    }
    for (auto& d : out) SCSIPUB_DB_CHECK(load_luns(d), what);
    return out;
  }

  Result<bool> delete_account_where(std::string_view owner_sql, std::string_view delete_sql,
                                    std::string_view arg, const std::string& what) {
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(conn, Transaction::Mode::kImmediate), what);
    {
      SCSIPUB_DB_ASSIGN(s_ptr, statement(owner_sql), what);
      sqlite::StatementLease s(*s_ptr);
      s->bind(1, arg);
      SCSIPUB_DB_ASSIGN(row, s->step(), what);
      if (row && s->int64(0) > 0) {
        return fail(what + ": the account still owns " + std::to_string(s->int64(0)) +
                    " disk(s); delete them first");
      }
    }
    bool deleted = false;
    {
      SCSIPUB_DB_ASSIGN(s_ptr, statement(delete_sql), what);
      sqlite::StatementLease s(*s_ptr);
      s->bind(1, arg);
      SCSIPUB_DB_CHECK(s->run(), what);
      deleted = conn.changes() > 0;
    }
    SCSIPUB_DB_CHECK(tx.commit(), what);
    return deleted;
  }

  Result<std::optional<Disk>> one_disk(std::string_view sql, std::string_view arg,
                                       const std::string& what) {
    SCSIPUB_DB_ASSIGN(tx, Transaction::begin(conn, Transaction::Mode::kDeferred), what);
    SCSIPUB_DB_ASSIGN(found, disks(sql, arg, what), what);
    SCSIPUB_DB_CHECK(tx.commit(), what);
    if (found.empty()) return std::optional<Disk>();
    return std::optional<Disk>(std::move(found.front()));
  }
};

}  // namespace scsipub::db
