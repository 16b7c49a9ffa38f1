#include <memory>
#include <string>

#include "db/sqlite_stmt.h"
#include "db/sqlite_store.h"
#include "db/store_harness.h"  // tests/db/store_harness.h
#include "storage/temp_dir.h"

namespace scsipub::db::testing {
namespace {

class SqliteHarness final : public StoreHarness {
 public:
  Result<std::unique_ptr<MetaStore>> open() override {
    auto s = SqliteStore::open(dir_.path());
    if (!s) return fail(s.error().message);
    return std::unique_ptr<MetaStore>(std::move(*s));
  }

  Status exec_raw(const std::string& sql) override {
    auto c = connect();
    if (!c) return fail(c.error().message);
    return c->exec(sql);
  }

  Result<int64_t> query_int_raw(const std::string& sql) override {
    auto c = connect();
    if (!c) return fail(c.error().message);
    auto st = sqlite::Statement::prepare(*c, sql);
    if (!st) return fail(st.error().message);
    auto row = st->step();
    if (!row) return fail(row.error().message);
    if (!*row) return fail("no row");
    return st->int64(0);
  }

 private:
  Result<sqlite::Connection> connect() {
    return sqlite::Connection::open((dir_.path() / std::string(SqliteStore::kFileName)).string(),
                                    SQLITE_OPEN_READWRITE);
  }

  scsipub::testing::TempDir dir_;
};

}  // namespace

std::unique_ptr<StoreHarness> make_sqlite_harness() { return std::make_unique<SqliteHarness>(); }

}  // namespace scsipub::db::testing
