#pragma once
// A consistent copy of a live SQLite MetaStore, through SQLite's online
// backup API on a connection of its own: the copy is one read transaction's
// view (WAL mode lets the server keep committing meanwhile), so it never
// holds half a change. Also reads a copy's schema version without opening
// it as a MetaStore (which would migrate it).
#include <filesystem>

#include "common/result.h"
#include "db/migrations.h"

namespace scsipub::db {

// Copies the database file `src` to a new file `dst` (which must not exist)
// and returns the copy's migration history.
Result<MigrationHistory> sqlite_backup(const std::filesystem::path& src, const std::filesystem::path& dst);

// The migration history of the SQLite file `db`, opened read-only.
Result<MigrationHistory> sqlite_migration_history(const std::filesystem::path& db);

}  // namespace scsipub::db
