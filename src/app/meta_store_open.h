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

}  // namespace scsipub::app
