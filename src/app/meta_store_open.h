#pragma once
// Opens the MetaStore the configuration names: SQLite in the data directory
// by default, PostgreSQL for a postgresql:// URL.
#include <memory>

#include "app/config.h"
#include "common/result.h"
#include "db/meta_store.h"

namespace scsipub::app {

Result<std::unique_ptr<db::MetaStore>> open_meta_store(const Config& cfg);
// For log lines: the backend and where, without a password.
std::string describe_database(const Config& cfg);

}  // namespace scsipub::app
