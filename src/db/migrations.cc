#include "db/migrations.h"

#include <fmt/format.h>

namespace scsipub::db {

std::optional<std::string> migration_history_problem(const MigrationHistory& h) {
  if (h.max > kLatestSchemaVersion) {
    return fmt::format("database schema version {} is newer than this build supports ({}); "
                       "refusing to open it — run a newer scsipub",
                       h.max, kLatestSchemaVersion);
  }
  if (h.count != 0 && (h.min != 1 || h.max != h.count)) {
    return fmt::format("database migration history is damaged ({} rows, versions {}..{}); refusing to open it",
                       h.count, h.min, h.max);
  }
  return std::nullopt;
}

}  // namespace scsipub::db
