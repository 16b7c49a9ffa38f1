#include "app/meta_store_open.h"

#include <iostream>
#include <regex>

#include "db/migrations.h"
#include "db/postgres_store.h"
#include "db/sqlite_store.h"

namespace scsipub::app {

Result<std::unique_ptr<db::MetaStore>> open_meta_store(const Config& cfg) {
  if (is_postgres_url(cfg.database)) {
    auto pg = db::PostgresStore::open(cfg.database);
    if (!pg.ok()) return fail(pg.error().message);
    return std::unique_ptr<db::MetaStore>(std::move(pg).value());
  }
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  auto sqlite = cfg.database.empty() ? db::SqliteStore::open(cfg.data_dir) : db::SqliteStore::open_file(cfg.database);
  if (!sqlite.ok()) return fail(sqlite.error().message);
  return std::unique_ptr<db::MetaStore>(std::move(sqlite).value());
}

int with_meta_store(const Config& cfg, const std::function<int(db::MetaStore&)>& command) {
  auto store = open_meta_store(cfg);
  if (!store.ok()) {
    std::cerr << "scsipub: " << describe_database(cfg) << ": " << store.error().message << "\n";
    return 1;
  }
  // Any command upgrades the database it opens: say so, it cannot be undone.
  if (store_was_migrated(**store)) std::cerr << "scsipub: " << describe_database(cfg) << ": " << describe_schema(**store) << "\n";
  return command(**store);
}

bool store_was_migrated(const db::MetaStore& store) {
  const int before = store.schema_version_at_open();
  return before > 0 && before < db::kLatestSchemaVersion;
}

std::string describe_schema(db::MetaStore& store) {
  auto now = store.schema_version();
  if (!now.ok()) return "schema version unknown (" + now.error().message + ")";
  std::string out = "schema version " + std::to_string(now.value());
  const int before = store.schema_version_at_open();
  if (before == 0) return out + " (new database)";
  if (!store_was_migrated(store)) return out;
  out += " (migrated from version " + std::to_string(before) + ":";
  for (int v = before + 1; v <= now.value() && v <= db::kLatestSchemaVersion; ++v) {
    const auto& m = db::kMigrations[static_cast<std::size_t>(v - 1)];
    out += (v == before + 1 ? " " : ", ") + std::to_string(m.version) + " " + std::string(m.description);
  }
  return out + ")";
}

std::string describe_database(const Config& cfg) {
  if (is_postgres_url(cfg.database)) {
    // postgresql://user:secret@host/db -> postgresql://user:***@host/db
    static const std::regex kPassword(R"(^(postgres(?:ql)?://[^:/@]*):[^@]*@)");
    return "PostgreSQL " + std::regex_replace(cfg.database, kPassword, "$1:***@");
  }
  auto file = cfg.database.empty() ? cfg.data_dir / std::string(db::SqliteStore::kFileName)
                                   : std::filesystem::path(cfg.database);
  return "SQLite " + file.string();
}

}  // namespace scsipub::app
