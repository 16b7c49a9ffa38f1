#pragma once
// Backend factories for the MetaStore contract tests. Each harness owns one
// empty database (a temp dir for SQLite; a scratch schema for PostgreSQL
// later) and can open the store on it any number of times.
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "common/result.h"
#include "db/meta_store.h"

namespace scsipub::db::testing {

class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  StoreHarness() = default;
  StoreHarness(const StoreHarness&) = delete;
  StoreHarness& operator=(const StoreHarness&) = delete;

  // Opens (or reopens) a store on this harness's database.
  virtual Result<std::unique_ptr<MetaStore>> open() = 0;
  // Direct access that bypasses the store, to inspect or damage the database.
  // Portable SQL only, so the same tests run on every backend.
  virtual Status exec_raw(const std::string& sql) = 0;
  virtual Result<int64_t> query_int_raw(const std::string& sql) = 0;
};

struct Backend {
  std::string name;
  std::function<std::unique_ptr<StoreHarness>()> make;
};

// GoogleTest prints the parameter by name instead of by bytes.
inline void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

// Defined per backend; the contract tests are instantiated over all of them.
std::unique_ptr<StoreHarness> make_sqlite_harness();

}  // namespace scsipub::db::testing
