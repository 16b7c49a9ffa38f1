#pragma once
// Opens the MetaStore the configuration names: SQLite in the data directory
// by default, PostgreSQL for a postgresql:// URL.
#include <functional>
#include <memory>

#include "app/config.h"
#include "common/result.h"
#include "db/meta_store.h"

namespace scsipub::app {

Result<std::unique_ptr<db::MetaStore>> open_meta_store(const Config& cfg);
// For the CLI commands: opens the store and returns what `command` returns,
// or says on stderr why the store cannot be opened and returns 1.
int with_meta_store(const Config& cfg, const std::function<int(db::MetaStore&)>& command);
// For log lines: the backend and where, without a password.
std::string describe_database(const Config& cfg);
// For log lines: "schema version 6", "schema version 6 (new database)" or
// "schema version 6 (migrated from version 4: 5 fleet nodes and disk leases,
// 6 fleet node instance token)" — what opening the store just did.
std::string describe_schema(db::MetaStore& store);
// True when opening the store applied migrations to an existing database.
bool store_was_migrated(const db::MetaStore& store);

}  // namespace scsipub::app
