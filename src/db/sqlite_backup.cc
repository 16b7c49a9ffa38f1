#include "db/sqlite_backup.h"

#include <sqlite3.h>

#include <memory>
#include <string>
#include <system_error>

namespace scsipub::db {
namespace {

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;

Result<DbPtr> open_db(const std::filesystem::path& p, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(p.c_str(), &raw, flags | SQLITE_OPEN_NOFOLLOW, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return fail("open " + p.string() + ": " + (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), 5000);
  return db;
}

Result<MigrationHistory> history_of(sqlite3* db) {
  sqlite3_stmt* raw = nullptr;
  const char* sql =
      "SELECT COUNT(*), COALESCE(MIN(version), 0), COALESCE(MAX(version), 0) FROM schema_migrations";
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    return fail(std::string("not a scsipub database (schema_migrations: ") + sqlite3_errmsg(db) + ")");
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) return fail(std::string("read schema_migrations: ") + sqlite3_errmsg(db));
  return MigrationHistory{sqlite3_column_int64(stmt.get(), 0), sqlite3_column_int64(stmt.get(), 1),
                          sqlite3_column_int64(stmt.get(), 2)};
}

}  // namespace

Result<MigrationHistory> sqlite_backup(const std::filesystem::path& src, const std::filesystem::path& dst) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(src, ec)) return fail("no SQLite database at " + src.string());
  if (std::filesystem::exists(dst, ec)) return fail(dst.string() + " exists already");
  auto from = open_db(src, SQLITE_OPEN_READONLY);
  if (!from.ok()) return fail(from.error().message);
  auto to = open_db(dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!to.ok()) return fail(to.error().message);
  sqlite3_backup* b = sqlite3_backup_init(to->get(), "main", from->get(), "main");
  if (b == nullptr) return fail(std::string("backup of ") + src.string() + ": " + sqlite3_errmsg(to->get()));
  // One step copies every page inside one read transaction: a consistent
  // view. The database is small (records, not data); busy waits are bounded
  // by the busy timeout above.
  int rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return fail(std::string("backup of ") + src.string() + ": " + sqlite3_errstr(rc));
  // The copy is a rollback-journal database with no -wal beside it: one file.
  char* err = nullptr;
  if (sqlite3_exec(to->get(), "PRAGMA journal_mode=DELETE", nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "?";
    sqlite3_free(err);
    return fail("backup copy journal mode: " + m);
  }
  return history_of(to->get());
}

Result<MigrationHistory> sqlite_migration_history(const std::filesystem::path& db) {
  auto conn = open_db(db, SQLITE_OPEN_READONLY);
  if (!conn.ok()) return fail(conn.error().message);
  return history_of(conn->get());
}

}  // namespace scsipub::db
