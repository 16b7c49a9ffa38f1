// PostgreSQL backend for the MetaStore contract tests, plus tests of what only
// this backend does (reconnecting). Runs against the server named by
// SCSIPUB_TEST_PG_URL (scripts/pg-test-server.sh starts a throwaway one); each
// harness works in its own freshly created schema, selected through the URL's
// search_path option, and drops it afterwards. Without the variable every
// PostgreSQL test is skipped.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "db/pg_conn.h"
#include "db/postgres_store.h"
#include "db/store_harness.h"  // tests/db/store_harness.h

namespace scsipub::db::testing {

std::unique_ptr<StoreHarness> make_postgres_harness();

namespace {

constexpr const char* kUrlVariable = "SCSIPUB_TEST_PG_URL";

std::string test_url() {
  const char* url = std::getenv(kUrlVariable);
  return url ? std::string(url) : std::string();
}

void skip_without_server() {
  GTEST_SKIP() << "PostgreSQL tests skipped: set " << kUrlVariable
               << " (e.g. the URL printed by scripts/pg-test-server.sh start DIR)";
}

// A unique, lower-case schema name: safe in a URL and needs no quoting.
std::string unique_schema() {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  return "scsipub_t" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
         std::to_string(rd() % 1000000);
}

// `url` with extra query parameters (already URL-encoded).
std::string with_params(const std::string& url, const std::string& params) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + params;
}

class PostgresHarness final : public StoreHarness {
 public:
  PostgresHarness(pg::Conn admin, std::string schema, std::string url)
      : admin_(std::move(admin)), schema_(std::move(schema)), url_(std::move(url)) {}

  ~PostgresHarness() override {
    // Quoted by the server's rules even though the name is ours.
    char* ident = PQescapeIdentifier(admin_.get(), schema_.c_str(), schema_.size());
    if (!ident) return;
    const std::string drop = std::string("DROP SCHEMA IF EXISTS ") + ident + " CASCADE";
    PQfreemem(ident);
    auto st = admin_.exec_script(drop);
    EXPECT_TRUE(st.ok()) << st.error().message;
  }

  Result<std::unique_ptr<MetaStore>> open() override {
    auto s = PostgresStore::open(url_);
    if (!s) return fail(s.error().message);
    return std::unique_ptr<MetaStore>(std::move(*s));
  }

  Status exec_raw(const std::string& sql) override {
    auto c = pg::Conn::connect(url_);
    if (!c) return fail(c.error().message);
    return c->exec_script(sql);
  }

  Result<int64_t> query_int_raw(const std::string& sql) override {
    auto c = pg::Conn::connect(url_);
    if (!c) return fail(c.error().message);
    auto r = c->exec(sql);
    if (!r) return fail(r.error().message);
    if (r->rows() < 1) return fail("no row");
    return r->int64(0, 0);
  }

  const std::string& url() const { return url_; }
  const std::string& schema() const { return schema_; }
  pg::Conn& admin() { return admin_; }

 private:
  pg::Conn admin_;  // on the base URL: creates and drops the schema
  std::string schema_;
  std::string url_;  // the base URL with search_path = schema_
};

// A harness on a fresh schema of the server at `base_url`; `extra_params` are
// added to the store's URL (URL-encoded). Null, with a test failure, when the
// server cannot be reached.
std::unique_ptr<PostgresHarness> make_harness(const std::string& base_url, const std::string& extra_params = {}) {
  auto admin = pg::Conn::connect(base_url);
  EXPECT_TRUE(admin.ok()) << (admin.ok() ? "" : admin.error().message);
  if (!admin.ok()) return nullptr;
  const std::string schema = unique_schema();
  auto st = admin->exec_script("CREATE SCHEMA " + schema);
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  if (!st.ok()) return nullptr;
  std::string params = "options=-csearch_path%3D" + schema;
  if (!extra_params.empty()) params += "&" + extra_params;
  return std::make_unique<PostgresHarness>(std::move(*admin), schema, with_params(base_url, params));
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string url = test_url();
    if (url.empty()) {
      skip_without_server();
      return;
    }
    app_name_ = "scsipub_test_" + std::to_string(::getpid());
    harness_ = make_harness(url, "application_name=" + app_name_);
    ASSERT_TRUE(harness_);
  }

  // Ends the store's server session the way a server restart or an idle
  // timeout would.
  void kill_sessions() {
    auto r = harness_->admin().exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = $1 AND pid <> pg_backend_pid()",
        {app_name_});
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_GE(r->rows(), 1);
    // pg_terminate_backend only signals; wait (bounded) until the session is gone.
    for (int i = 0; i < 500; ++i) {
      auto left = harness_->admin().exec(
          "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1 "
          "AND pid <> pg_backend_pid()",
          {app_name_});
      ASSERT_TRUE(left.ok()) << left.error().message;
      auto n = left->int64(0, 0);
      ASSERT_TRUE(n.ok());
      if (*n == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "the store's session did not end";
  }

  std::string app_name_;
  std::unique_ptr<PostgresHarness> harness_;
};

TEST_F(PostgresStoreTest, ReconnectsAfterTheServerDropsTheConnection) {
  auto s = PostgresStore::open(harness_->url());
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto& store = **s;
  ASSERT_TRUE(store.create_account(Account{"alice", "pro", "h1", {}}).ok());

  kill_sessions();
  auto a = store.get_account("alice");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->has_value());

  kill_sessions();
  auto st = store.create_account(Account{"bob", "pro", "h2", {}});
  ASSERT_TRUE(st.ok()) << st.error().message;
  auto all = store.list_accounts();
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(PostgresStoreTest, ForeignTablesInTheSchemaAreRefused) {
  ASSERT_TRUE(harness_->exec_raw("CREATE TABLE unrelated (x INTEGER)").ok());
  auto s = PostgresStore::open(harness_->url());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("not a scsipub database"), std::string::npos)
      << s.error().message;
}

TEST_F(PostgresStoreTest, ConcurrentOpensMigrateOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto s = PostgresStore::open(harness_->url());
      EXPECT_TRUE(s.ok()) << s.error().message;
      if (s.ok()) ++opened;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 4);
  auto n = harness_->query_int_raw("SELECT COUNT(*) FROM schema_migrations");
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, kLatestSchemaVersion);
}

TEST_F(PostgresStoreTest, OlderSchemaIsUpgradedStepByStep) {
  {
    auto s = PostgresStore::open(harness_->url(), PostgresOptions{.migrate_to = 1});
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto v = (*s)->schema_version();
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, 1);
  }
  auto s = PostgresStore::open(harness_->url());
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto v = (*s)->schema_version();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, kLatestSchemaVersion);
  EXPECT_EQ((*s)->schema_version_at_open(), 1);  // what the upgrade started from
}

}  // namespace

std::unique_ptr<StoreHarness> make_postgres_harness() {
  const std::string url = test_url();
  if (url.empty()) return nullptr;  // the fixture skips
  return make_harness(url);
}

}  // namespace scsipub::db::testing
