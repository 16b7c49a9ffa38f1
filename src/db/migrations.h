#pragma once
// Versioned schema migrations, shared by every MetaStore backend.
//
// Rules:
// - Append only. A released migration is never edited or reordered; fix
//   mistakes with a new migration.
// - Versions start at 1 and are contiguous; version N is kMigrations[N - 1].
// - Each migration runs in one transaction together with the row that records
//   it in schema_migrations, so a crash leaves the schema at N or N + 1.
// - Portable SQL only (it must run on SQLite and PostgreSQL): TEXT, INTEGER
//   (32-bit values), BIGINT (64-bit values, timestamps as Unix seconds),
//   booleans as INTEGER 0/1, no AUTOINCREMENT/SERIAL, no backend-only syntax.
//   Every TEXT primary key is spelled NOT NULL (SQLite would allow NULL).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace scsipub::db {

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;  // one or more statements separated by ';'
};

// Created before any migration runs; its rows say which migrations ran.
inline constexpr std::string_view kSchemaMigrationsTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER NOT NULL PRIMARY KEY,"
    " description TEXT NOT NULL,"
    " applied_at BIGINT NOT NULL)";

inline constexpr std::array kMigrations{
    Migration{1, "accounts and provisioned disks",
              R"sql(
CREATE TABLE accounts (
  id TEXT NOT NULL PRIMARY KEY,
  tier TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created BIGINT NOT NULL
);
CREATE TABLE disks (
  id TEXT NOT NULL PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
  chap_user TEXT NOT NULL UNIQUE,
  chap_secret TEXT NOT NULL,
  mutual_secret TEXT,
  write_limit BIGINT NOT NULL,
  created BIGINT NOT NULL,
  expires BIGINT
);
CREATE INDEX disks_by_account ON disks (account_id);
CREATE TABLE disk_luns (
  disk_id TEXT NOT NULL REFERENCES disks (id) ON DELETE CASCADE,
  lun INTEGER NOT NULL,
  image TEXT NOT NULL,
  PRIMARY KEY (disk_id, lun)
);
)sql"},
    Migration{2, "persistent reservation state per LU",
              R"sql(
CREATE TABLE pr_state (
  disk_id TEXT NOT NULL,
  lun INTEGER NOT NULL,
  generation BIGINT NOT NULL,
  holder INTEGER,
  pr_type INTEGER NOT NULL,
  pr_scope INTEGER NOT NULL,
  PRIMARY KEY (disk_id, lun),
  FOREIGN KEY (disk_id, lun) REFERENCES disk_luns (disk_id, lun) ON DELETE CASCADE
);
CREATE TABLE pr_registrations (
  disk_id TEXT NOT NULL,
  lun INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  initiator_port TEXT NOT NULL,
  target_port TEXT NOT NULL,
  reservation_key BIGINT NOT NULL,
  aptpl INTEGER NOT NULL,
  PRIMARY KEY (disk_id, lun, seq),
  UNIQUE (disk_id, lun, initiator_port, target_port),
  FOREIGN KEY (disk_id, lun) REFERENCES pr_state (disk_id, lun) ON DELETE CASCADE
);
)sql"},
    Migration{3, "operator tokens for the dashboard",
              R"sql(
CREATE TABLE operator_tokens (
  id TEXT NOT NULL PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  label TEXT NOT NULL,
  created BIGINT NOT NULL
);
)sql"},
    Migration{4, "catalog image metadata",
              R"sql(
CREATE TABLE catalog_images (
  name TEXT NOT NULL PRIMARY KEY,
  title TEXT NOT NULL,
  description TEXT NOT NULL,
  size_bytes BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  source_format TEXT NOT NULL,
  source TEXT NOT NULL,
  presentation TEXT NOT NULL,
  added_at BIGINT NOT NULL
);
)sql"},
    // Times in milliseconds since the Unix epoch, by the database's clock (the
    // one clock every node agrees on). A lease row outlives its owner: a
    // released lease keeps its epoch (owner_node = ''), so the next owner's
    // epoch is always higher than any before it.
    Migration{5, "fleet nodes and disk leases",
              R"sql(
CREATE TABLE fleet_nodes (
  id TEXT NOT NULL PRIMARY KEY,
  iscsi_portal TEXT NOT NULL,
  tls_portal TEXT NOT NULL,
  http_address TEXT NOT NULL,
  version TEXT NOT NULL,
  sessions BIGINT NOT NULL,
  heartbeat_ms BIGINT NOT NULL,
  started_ms BIGINT NOT NULL
);
CREATE TABLE disk_leases (
  disk_id TEXT NOT NULL PRIMARY KEY REFERENCES disks (id) ON DELETE CASCADE,
  owner_node TEXT NOT NULL,
  epoch BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  owner_client TEXT NOT NULL
);
)sql"},
    // The token of the process behind each node row, so a second live
    // process configured with the same node id is noticed instead of
    // silently sharing the row ('' = a row from a build without it).
    Migration{6, "fleet node instance token",
              R"sql(
ALTER TABLE fleet_nodes ADD COLUMN instance TEXT NOT NULL DEFAULT '';
)sql"},
};

inline constexpr int kLatestSchemaVersion = static_cast<int>(kMigrations.size());

// Compile-time check of the numbering rule above.
consteval bool migrations_are_contiguous() {
  for (std::size_t i = 0; i < kMigrations.size(); ++i) {
    if (kMigrations[i].version != static_cast<int>(i) + 1) return false;
  }
  return true;
}
static_assert(migrations_are_contiguous(), "kMigrations versions must be 1, 2, 3, ...");

// What schema_migrations holds: COUNT(*), MIN(version), MAX(version) (0 when empty).
struct MigrationHistory {
  int64_t count = 0;
  int64_t min = 0;
  int64_t max = 0;
};

// Why a backend must refuse to open a database with this history: a version
// newer than this build (a rollback onto a newer schema), or a history that is
// not 1..N. nullopt when it may open (and migrate from `max`).
std::optional<std::string> migration_history_problem(const MigrationHistory& h);

}  // namespace scsipub::db
