#pragma once
// A scratch schema on the PostgreSQL server named by SCSIPUB_TEST_PG_URL
// (scripts/pg-test-server.sh starts a throwaway one), for tests outside the
// MetaStore contract suite that need a real database: created empty, selected
// through the URL's search_path, dropped with everything in it afterwards.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "db/pg_conn.h"

namespace scsipub::db::testing {

class PgTestSchema {
 public:
  static constexpr const char* kUrlVariable = "SCSIPUB_TEST_PG_URL";

  // nullptr when the variable is unset (the caller skips); an error when the
  // server cannot be reached or the schema not created.
  static Result<std::unique_ptr<PgTestSchema>> create() {
    const char* base = std::getenv(kUrlVariable);
    if (base == nullptr || *base == '\0') return std::unique_ptr<PgTestSchema>();
    auto admin = pg::Conn::connect(base);
    if (!admin) return fail(admin.error().message);
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    // Lower case digits and letters only: safe in a URL, needs no quoting.
    const std::string schema = "scsipub_f" + std::to_string(::getpid()) + "_" +
                               std::to_string(counter++) + "_" + std::to_string(rd() % 1000000);
    if (auto st = admin->exec_script("CREATE SCHEMA " + schema); !st) return fail(st.error().message);
    std::string url = base;
    url += url.find('?') == std::string::npos ? "?" : "&";
    url += "options=-csearch_path%3D" + schema;
    return std::unique_ptr<PgTestSchema>(new PgTestSchema(std::move(*admin), schema, url));
  }

  ~PgTestSchema() { (void)admin_.exec_script("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE"); }
  PgTestSchema(const PgTestSchema&) = delete;
  PgTestSchema& operator=(const PgTestSchema&) = delete;

  const std::string& url() const { return url_; }

 private:
  PgTestSchema(pg::Conn admin, std::string schema, std::string url)
      : admin_(std::move(admin)), schema_(std::move(schema)), url_(std::move(url)) {}
  pg::Conn admin_;
  std::string schema_;
  std::string url_;
};

}  // namespace scsipub::db::testing
