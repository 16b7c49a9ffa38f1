// SQLite-only behaviour: file location, pragmas, refusal of foreign files,
// upgrades across schema versions.
#include "db/sqlite_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "db/sqlite_stmt.h"
#include "storage/temp_dir.h"

namespace scsipub::db {
namespace {

using scsipub::testing::TempDir;

std::filesystem::path db_file(const TempDir& dir) {
  return dir.path() / std::string(SqliteStore::kFileName);
}

std::string raw_text(const std::filesystem::path& file, const std::string& sql) {
  auto c = sqlite::Connection::open(file.string(), SQLITE_OPEN_READWRITE);
  if (!c) return "error: " + c.error().message;
  auto st = sqlite::Statement::prepare(*c, sql);
  if (!st) return "error: " + st.error().message;
  auto row = st->step();
  if (!row || !*row) return "error: no row";
  return st->text(0);
}

Account alice() { return Account{"alice", "pro", "h", Timestamp(std::chrono::seconds(1))}; }

TEST(SqliteStore, CreatesFileInDataDirInWalMode) {
  TempDir dir;
  auto s = SqliteStore::open(dir.path());
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_TRUE((*s)->create_account(alice()).ok());
  EXPECT_TRUE(std::filesystem::exists(db_file(dir)));
  EXPECT_EQ(raw_text(db_file(dir), "PRAGMA journal_mode"), "wal");  // persistent per file
  EXPECT_EQ(raw_text(db_file(dir), "SELECT id FROM accounts"), "alice");
}

TEST(SqliteStore, MissingDataDirIsRefused) {
  TempDir dir;
  auto s = SqliteStore::open(dir.path() / "absent");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("does not exist"), std::string::npos) << s.error().message;
}

TEST(SqliteStore, GarbageFileIsRefused) {
  TempDir dir;
  std::vector<uint8_t> junk(8192, 0x5a);
  scsipub::testing::write_file(db_file(dir), junk);
  auto s = SqliteStore::open(dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("not a usable SQLite database"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(scsipub::testing::read_file(db_file(dir)), junk);  // left untouched
}

TEST(SqliteStore, ForeignDatabaseIsRefused) {
  TempDir dir;
  {
    auto c =
        sqlite::Connection::open(db_file(dir).string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c->exec("CREATE TABLE something_else (x INTEGER)").ok());
  }
  auto s = SqliteStore::open(dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("not a scsipub database"), std::string::npos)
      << s.error().message;
}

TEST(SqliteStore, UpgradesAnOlderSchemaKeepingData) {
  static_assert(kLatestSchemaVersion >= 2);
  TempDir dir;
  {
    auto s = SqliteStore::open(dir.path(), SqliteOptions{.migrate_to = 1});
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto v = (*s)->schema_version();
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, 1);
    EXPECT_EQ((*s)->schema_version_at_open(), 0);  // a new database
    ASSERT_TRUE((*s)->create_account(alice()).ok());
    Disk d;
    d.id = "d1";
    d.account_id = "alice";
    d.luns = {"img"};
    d.chap_user = "u";
    d.chap_secret = "s";
    ASSERT_TRUE((*s)->create_disk(d).ok());
    EXPECT_FALSE((*s)->save_pr_state(LuKey{"d1", 0}, PrState{}).ok());  // no PR tables yet
  }
  auto s = SqliteStore::open(dir.path());
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto v = (*s)->schema_version();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, kLatestSchemaVersion);
  EXPECT_EQ((*s)->schema_version_at_open(), 1);  // what the upgrade started from
  auto d = (*s)->get_disk("d1");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->luns, std::vector<std::string>{"img"});
  PrState pr;
  pr.generation = 3;
  ASSERT_TRUE((*s)->save_pr_state(LuKey{"d1", 0}, pr).ok());

  // Opening with an older target never downgrades.
  s->reset();
  auto again = SqliteStore::open(dir.path(), SqliteOptions{.migrate_to = 1});
  ASSERT_TRUE(again.ok()) << again.error().message;
  auto v2 = (*again)->schema_version();
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(*v2, kLatestSchemaVersion);
  EXPECT_EQ((*again)->schema_version_at_open(), kLatestSchemaVersion);
}

TEST(SqliteStore, TwoStoresOnOneFileSeeEachOthersWrites) {
  TempDir dir;
  auto a = SqliteStore::open(dir.path());
  auto b = SqliteStore::open(dir.path());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->create_account(alice()).ok());
  auto got = (*b)->get_account("alice");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(got->has_value());
}

}  // namespace
}  // namespace scsipub::db
