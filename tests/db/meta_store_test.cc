// MetaStore contract tests: every backend must pass all of them. Written only
// against the MetaStore interface and the harness's portable raw SQL.
#include "db/meta_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "db/migrations.h"
#include "db/store_harness.h"
#include "db/tokens.h"

namespace scsipub::db {
namespace testing {
std::unique_ptr<StoreHarness> make_postgres_harness();  // tests/db/postgres_harness.cc
}  // namespace testing
namespace {

using testing::Backend;
using testing::StoreHarness;

Timestamp at(int64_t seconds) { return Timestamp(std::chrono::seconds(seconds)); }

Account account(const std::string& id, const std::string& tier = "pro") {
  return Account{id, tier, "hash-of-" + id, at(1'700'000'000)};
}

Disk disk(const std::string& id, const std::string& owner,
          std::vector<std::string> luns = {"debian-12"}) {
  Disk d;
  d.id = id;
  d.account_id = owner;
  d.luns = std::move(luns);
  d.chap_user = "user-" + id;
  d.chap_secret = "secret-of-" + id;
  d.write_limit = 1ull << 30;
  d.created = at(1'700'000'100);
  return d;
}

PrState sample_pr() {
  PrState s;
  s.generation = 7;
  s.registrations = {
      {"iqn.1994-05.com.redhat:a,i,0x400001370000", "iqn.2025-01.pub.scsipub:disk.d1,t,0x1",
       0x1122334455667788ull, true},
      {"iqn.1994-05.com.redhat:b,i,0x400001370001", "iqn.2025-01.pub.scsipub:disk.d1,t,0x1",
       0xFFFFFFFFFFFFFFFFull, false},
      {"iqn.1994-05.com.redhat:c,i,0x400001370002", "", 0, false},
  };
  s.holder = 1;
  s.type = 5;  // WRITE EXCLUSIVE - REGISTRANTS ONLY
  s.scope = 0;
  return s;
}

class MetaStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    harness_ = GetParam().make();
    // A backend whose server is not configured (PostgreSQL without
    // SCSIPUB_TEST_PG_URL) returns no harness: skip, don't fail.
    if (!harness_) GTEST_SKIP() << GetParam().name << " not configured for this run";
    reopen();
  }

  // Closes the current store (if any) and opens a fresh one on the same data.
  void reopen() {
    store_.reset();
    auto s = harness_->open();
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }

  MetaStore& store() { return *store_; }

  void must(const Status& st) { ASSERT_TRUE(st.ok()) << st.error().message; }

  int64_t raw_int(const std::string& sql) {
    auto r = harness_->query_int_raw(sql);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : -1;
  }

  std::unique_ptr<StoreHarness> harness_;
  std::unique_ptr<MetaStore> store_;
};

// --- schema ---------------------------------------------------------------------

TEST_P(MetaStoreTest, FreshDatabaseMigratesToLatest) {
  auto v = store().schema_version();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, kLatestSchemaVersion);
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM schema_migrations"), kLatestSchemaVersion);
  EXPECT_EQ(raw_int("SELECT MAX(version) FROM schema_migrations"), kLatestSchemaVersion);
}

TEST_P(MetaStoreTest, ReopenKeepsDataAndDoesNotRerunMigrations) {
  must(store().create_account(account("acct-1")));
  const int64_t applied = raw_int("SELECT SUM(applied_at) FROM schema_migrations");
  reopen();
  reopen();
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM schema_migrations"), kLatestSchemaVersion);
  EXPECT_EQ(raw_int("SELECT SUM(applied_at) FROM schema_migrations"), applied);
  auto v = store().schema_version();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, kLatestSchemaVersion);
  EXPECT_EQ(store().schema_version_at_open(), kLatestSchemaVersion);  // nothing was pending
  auto a = store().get_account("acct-1");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ(**a, account("acct-1"));
}

TEST_P(MetaStoreTest, NewerSchemaVersionIsRefused) {
  store_.reset();
  const int future = kLatestSchemaVersion + 1;
  must(harness_->exec_raw(
      "INSERT INTO schema_migrations (version, description, applied_at) VALUES (" +
      std::to_string(future) + ", 'from the future', 0)"));
  auto s = harness_->open();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("newer than this build"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find(std::to_string(future)), std::string::npos) << s.error().message;
}

TEST_P(MetaStoreTest, DamagedMigrationHistoryIsRefused) {
  store_.reset();
  must(harness_->exec_raw("DELETE FROM schema_migrations WHERE version = 1"));
  auto s = harness_->open();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("damaged"), std::string::npos) << s.error().message;
}

// --- accounts -------------------------------------------------------------------

TEST_P(MetaStoreTest, AccountsCrud) {
  must(store().create_account(account("bob", "free")));
  must(store().create_account(account("alice")));

  auto a = store().get_account("alice");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ(**a, account("alice"));

  auto missing = store().get_account("carol");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto all = store().list_accounts();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "alice");  // ordered by id
  EXPECT_EQ((*all)[1], account("bob", "free"));

  auto del = store().delete_account("bob");
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(*del);
  del = store().delete_account("bob");
  ASSERT_TRUE(del.ok());
  EXPECT_FALSE(*del);
  auto gone = store().get_account("bob");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_P(MetaStoreTest, AccountIdAndTokenHashAreUnique) {
  must(store().create_account(account("alice")));
  Account same_id = account("alice");
  same_id.token_hash = "other";
  EXPECT_FALSE(store().create_account(same_id).ok());
  Account same_hash = account("bob");
  same_hash.token_hash = account("alice").token_hash;
  auto st = store().create_account(same_hash);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("already in use"), std::string::npos) << st.error().message;
  auto all = store().list_accounts();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
}

TEST_P(MetaStoreTest, InvalidAccountIsRejected) {
  EXPECT_FALSE(store().create_account(Account{"", "pro", "h", at(0)}).ok());
  EXPECT_FALSE(store().create_account(Account{"x", "", "h", at(0)}).ok());
  EXPECT_FALSE(store().create_account(Account{"x", "pro", "", at(0)}).ok());
}

TEST_P(MetaStoreTest, LookupAndDeleteByTokenHash) {
  auto token = generate_token();
  ASSERT_TRUE(token.ok());
  auto hash = hash_token(*token);
  ASSERT_TRUE(hash.ok());
  must(store().create_account(Account{"alice", "pro", *hash, at(5)}));
  must(store().create_account(account("bob")));

  // What `account create` prints is the token; a later request presents it.
  auto presented = hash_token(*token);
  ASSERT_TRUE(presented.ok());
  auto found = store().get_account_by_token_hash(*presented);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, "alice");
  EXPECT_EQ((*found)->created, at(5));

  auto wrong = store().get_account_by_token_hash(*token);  // the plain token is not a key
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(wrong->has_value());

  auto del = store().delete_account_by_token_hash(*hash);
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(*del);
  auto after = store().get_account("alice");
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());
  auto bob = store().get_account("bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_TRUE(bob->has_value());
}

// --- disks ------------------------------------------------------------------------

TEST_P(MetaStoreTest, DisksCrud) {
  must(store().create_account(account("alice")));
  must(store().create_account(account("bob")));

  Disk full = disk("d1", "alice", {"debian-12", "blank", "alpine"});
  full.mutual_secret = "mutual-secret";
  full.expires = at(1'800'000'000);
  full.write_limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  must(store().create_disk(full));
  must(store().create_disk(disk("d0", "alice")));
  must(store().create_disk(disk("d2", "bob")));

  auto got = store().get_disk("d1");
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, full);

  auto plain = store().get_disk("d0");
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(plain->has_value());
  EXPECT_EQ(**plain, disk("d0", "alice"));
  EXPECT_FALSE((*plain)->mutual_secret.has_value());
  EXPECT_FALSE((*plain)->expires.has_value());

  auto none = store().get_disk("nope");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto of_alice = store().list_disks_by_account("alice");
  ASSERT_TRUE(of_alice.ok());
  ASSERT_EQ(of_alice->size(), 2u);
  EXPECT_EQ((*of_alice)[0].id, "d0");
  EXPECT_EQ((*of_alice)[1], full);
  auto of_nobody = store().list_disks_by_account("carol");
  ASSERT_TRUE(of_nobody.ok());
  EXPECT_TRUE(of_nobody->empty());

  auto all = store().list_disks();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "d0");
  EXPECT_EQ((*all)[1].id, "d1");
  EXPECT_EQ((*all)[2], disk("d2", "bob"));

  auto del = store().delete_disk("d1");
  ASSERT_TRUE(del.ok());
  EXPECT_TRUE(*del);
  del = store().delete_disk("d1");
  ASSERT_TRUE(del.ok());
  EXPECT_FALSE(*del);
  all = store().list_disks();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM disk_luns WHERE disk_id = 'd1'"), 0);
}

TEST_P(MetaStoreTest, FindDiskByChapUser) {
  must(store().create_account(account("alice")));
  must(store().create_disk(disk("d1", "alice")));
  must(store().create_disk(disk("d2", "alice", {"a", "b"})));
  auto found = store().find_disk_by_chap_user("user-d2");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, disk("d2", "alice", {"a", "b"}));
  auto none = store().find_disk_by_chap_user("user-d3");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_P(MetaStoreTest, DiskConstraintsLeaveNothingBehind) {
  must(store().create_account(account("alice")));
  must(store().create_disk(disk("d1", "alice")));

  Disk same_chap = disk("d2", "alice", {"x", "y"});
  same_chap.chap_user = "user-d1";
  auto st = store().create_disk(same_chap);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("already in use"), std::string::npos) << st.error().message;
  EXPECT_FALSE(store().create_disk(disk("d1", "alice")).ok());  // same id

  auto orphan = store().create_disk(disk("d3", "nobody"));
  ASSERT_FALSE(orphan.ok());
  EXPECT_NE(orphan.error().message.find("no account"), std::string::npos) << orphan.error().message;

  EXPECT_FALSE(store().create_disk(disk("d4", "alice", {})).ok());  // no LUNs
  EXPECT_FALSE(store().create_disk(disk("d5", "alice", {"ok", ""})).ok());
  Disk huge = disk("d6", "alice");
  huge.write_limit = std::numeric_limits<uint64_t>::max();
  EXPECT_FALSE(store().create_disk(huge).ok());

  auto all = store().list_disks();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM disk_luns"), 1);
}

TEST_P(MetaStoreTest, AccountWithDisksCannotBeDeleted) {
  must(store().create_account(account("alice")));
  must(store().create_disk(disk("d1", "alice")));
  auto del = store().delete_account("alice");
  ASSERT_FALSE(del.ok());
  EXPECT_NE(del.error().message.find("owns 1 disk"), std::string::npos) << del.error().message;
  EXPECT_FALSE(store().delete_account_by_token_hash(account("alice").token_hash).ok());
  auto a = store().get_account("alice");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->has_value());

  ASSERT_TRUE(store().delete_disk("d1").ok());
  del = store().delete_account("alice");
  ASSERT_TRUE(del.ok()) << del.error().message;
  EXPECT_TRUE(*del);
}

// --- persistent reservations ----------------------------------------------------------

class PrTest : public MetaStoreTest {
 protected:
  void SetUp() override {
    MetaStoreTest::SetUp();
    if (IsSkipped()) return;
    must(store().create_account(account("alice")));
    must(store().create_disk(disk("d1", "alice", {"a", "b"})));
  }

  PrState load(const LuKey& lu) {
    auto r = store().load_pr_state(lu);
    EXPECT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : PrState{};
  }
};

TEST_P(PrTest, RoundTripIsIdentical) {
  const LuKey lu{"d1", 1};
  auto nothing = store().load_pr_state(lu);
  ASSERT_TRUE(nothing.ok());
  EXPECT_FALSE(nothing->has_value());

  PrState s = sample_pr();
  s.generation = std::numeric_limits<uint32_t>::max();
  s.scope = 0;
  must(store().save_pr_state(lu, s));
  EXPECT_EQ(load(lu), s);

  // The other LU of the disk is independent.
  auto other = store().load_pr_state(LuKey{"d1", 0});
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());

  // Registered but not reserved.
  PrState unreserved = sample_pr();
  unreserved.holder.reset();
  unreserved.type = 0;
  must(store().save_pr_state(LuKey{"d1", 0}, unreserved));
  EXPECT_EQ(load(LuKey{"d1", 0}), unreserved);

  // Empty state (after a CLEAR) is still a stored state.
  PrState empty;
  empty.generation = 9;
  must(store().save_pr_state(lu, empty));
  EXPECT_EQ(load(lu), empty);
}

TEST_P(PrTest, OverwriteReplacesEverything) {
  const LuKey lu{"d1", 0};
  must(store().save_pr_state(lu, sample_pr()));
  PrState next;
  next.generation = 8;
  next.registrations = {{"iqn.x,i,0x1", "t", 42, true}};
  next.holder = 0;
  next.type = 1;
  must(store().save_pr_state(lu, next));
  EXPECT_EQ(load(lu), next);
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM pr_registrations WHERE disk_id = 'd1' AND lun = 0"), 1);
}

TEST_P(PrTest, FailedOverwriteLeavesPreviousStateIntact) {
  const LuKey lu{"d1", 0};
  const PrState before = sample_pr();
  must(store().save_pr_state(lu, before));

  // Fails in the database half-way through (the second registration collides
  // with the first): nothing of it may remain.
  PrState dup = sample_pr();
  dup.generation = 100;
  dup.registrations.push_back(dup.registrations.front());
  auto st = store().save_pr_state(lu, dup);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("registered twice"), std::string::npos) << st.error().message;
  EXPECT_EQ(load(lu), before);

  // Rejected before touching the database.
  PrState bad_holder = sample_pr();
  bad_holder.holder = 3;
  EXPECT_FALSE(store().save_pr_state(lu, bad_holder).ok());
  EXPECT_EQ(load(lu), before);

  // The store still works after the failures.
  PrState after = before;
  after.generation = before.generation + 1;
  must(store().save_pr_state(lu, after));
  EXPECT_EQ(load(lu), after);
}

TEST_P(PrTest, StateNeedsAnExistingLu) {
  EXPECT_FALSE(store().save_pr_state(LuKey{"d1", 2}, sample_pr()).ok());  // LUNs are 0 and 1
  EXPECT_FALSE(store().save_pr_state(LuKey{"nope", 0}, sample_pr()).ok());
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM pr_state"), 0);
}

TEST_P(PrTest, Clear) {
  const LuKey lu{"d1", 1};
  must(store().save_pr_state(lu, sample_pr()));
  auto cleared = store().clear_pr_state(lu);
  ASSERT_TRUE(cleared.ok());
  EXPECT_TRUE(*cleared);
  cleared = store().clear_pr_state(lu);
  ASSERT_TRUE(cleared.ok());
  EXPECT_FALSE(*cleared);
  auto r = store().load_pr_state(lu);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM pr_registrations"), 0);
}

TEST_P(PrTest, DeletingTheDiskDeletesItsPrState) {
  must(store().save_pr_state(LuKey{"d1", 0}, sample_pr()));
  must(store().save_pr_state(LuKey{"d1", 1}, sample_pr()));
  must(store().create_disk(disk("d2", "alice")));
  must(store().save_pr_state(LuKey{"d2", 0}, sample_pr()));

  auto del = store().delete_disk("d1");
  ASSERT_TRUE(del.ok());
  ASSERT_TRUE(*del);
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM pr_state WHERE disk_id = 'd1'"), 0);
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM pr_registrations WHERE disk_id = 'd1'"), 0);
  EXPECT_EQ(load(LuKey{"d2", 0}), sample_pr());

  // A new disk under the same id starts with no reservations.
  must(store().create_disk(disk("d1", "alice", {"a", "b"})));
  auto r = store().load_pr_state(LuKey{"d1", 0});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

// --- durability -------------------------------------------------------------------

TEST_P(PrTest, EverythingSurvivesCloseAndReopen) {
  Disk full = disk("d9", "alice", {"x"});
  full.mutual_secret = "m";
  full.expires = at(2'000'000'000);
  must(store().create_disk(full));
  must(store().save_pr_state(LuKey{"d1", 1}, sample_pr()));

  reopen();

  auto a = store().get_account("alice");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ(**a, account("alice"));
  auto disks = store().list_disks();
  ASSERT_TRUE(disks.ok());
  ASSERT_EQ(disks->size(), 2u);
  EXPECT_EQ((*disks)[0], disk("d1", "alice", {"a", "b"}));
  EXPECT_EQ((*disks)[1], full);
  EXPECT_EQ(load(LuKey{"d1", 1}), sample_pr());
}

// --- operator tokens -------------------------------------------------------------

OperatorToken operator_token(const std::string& id, int64_t created = 1'700'000'000) {
  return OperatorToken{id, "op-hash-of-" + id, "pfx" + id, "label <" + id + ">", at(created)};
}

TEST_P(MetaStoreTest, OperatorTokensCreateFindListRevoke) {
  auto none = store().list_operator_tokens();
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->empty());

  must(store().create_operator_token(operator_token("t2", 1'700'000'005)));
  must(store().create_operator_token(operator_token("t1", 1'700'000'009)));
  must(store().create_operator_token(operator_token("t0", 1'700'000'005)));

  auto found = store().find_operator_token_by_hash("op-hash-of-t1");
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, operator_token("t1", 1'700'000'009));
  auto missing = store().find_operator_token_by_hash("op-hash-of-nobody");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto all = store().list_operator_tokens();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);  // by created, then id
  EXPECT_EQ((*all)[0].id, "t0");
  EXPECT_EQ((*all)[1].id, "t2");
  EXPECT_EQ((*all)[2].id, "t1");

  auto revoked = store().revoke_operator_token("t2");
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(*revoked);
  auto again = store().revoke_operator_token("t2");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto gone = store().find_operator_token_by_hash("op-hash-of-t2");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());

  reopen();  // durable
  auto after = store().list_operator_tokens();
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0], operator_token("t0", 1'700'000'005));
}

TEST_P(MetaStoreTest, OperatorTokenIdAndHashAreUnique) {
  must(store().create_operator_token(operator_token("t1")));
  OperatorToken same_hash = operator_token("t9");
  same_hash.token_hash = "op-hash-of-t1";
  EXPECT_FALSE(store().create_operator_token(same_hash).ok());
  OperatorToken same_id = operator_token("t1");
  same_id.token_hash = "another";
  EXPECT_FALSE(store().create_operator_token(same_id).ok());
  EXPECT_FALSE(store().create_operator_token(OperatorToken{"t5", "", "", "", at(1)}).ok());
  EXPECT_FALSE(store().create_operator_token(OperatorToken{"", "h", "", "", at(1)}).ok());
  // Operator tokens and account tokens live apart: an API token is no operator token.
  must(store().create_account(account("acct-1")));
  auto cross = store().find_operator_token_by_hash("hash-of-acct-1");
  ASSERT_TRUE(cross.ok());
  EXPECT_FALSE(cross->has_value());
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM operator_tokens"), 1);
}

// --- catalog metadata --------------------------------------------------------------

CatalogImage catalog_image(const std::string& name, int64_t added = 1'700'000'000) {
  return CatalogImage{name,     "Title of " + name, "It's <" + name + ">\nwith a second line", 5'000'000'123ull,
                      "ab12",   "xz+raw",           "https://example.org/" + name + ".img.xz", "auto",
                      at(added)};
}

TEST_P(MetaStoreTest, CatalogImagesPutGetListDelete) {
  auto none = store().list_catalog_images();
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none->empty());

  must(store().put_catalog_image(catalog_image("zeta")));
  must(store().put_catalog_image(catalog_image("alpha", 1'700'000'001)));
  auto got = store().get_catalog_image("alpha");
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, catalog_image("alpha", 1'700'000'001));  // 64-bit size, newlines, quotes survive

  CatalogImage replaced = catalog_image("zeta", 1'700'000'002);
  replaced.title = "new title";
  replaced.presentation = "disk";
  must(store().put_catalog_image(replaced));  // same name: replaces
  auto all = store().list_catalog_images();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "alpha");
  EXPECT_EQ((*all)[1], replaced);

  auto deleted = store().delete_catalog_image("alpha");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  auto again = store().delete_catalog_image("alpha");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto missing = store().get_catalog_image("alpha");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  reopen();  // durable
  auto after = store().list_catalog_images();
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0], replaced);
}

TEST_P(MetaStoreTest, InvalidCatalogImageIsRejected) {
  CatalogImage bad = catalog_image("x");
  bad.presentation = "floppy";
  EXPECT_FALSE(store().put_catalog_image(bad).ok());
  bad = catalog_image("");
  EXPECT_FALSE(store().put_catalog_image(bad).ok());
  bad = catalog_image("x");
  bad.title.assign(kMaxCatalogTitle + 1, 't');
  EXPECT_FALSE(store().put_catalog_image(bad).ok());
  bad = catalog_image("x");
  bad.size_bytes = ~0ull;
  EXPECT_FALSE(store().put_catalog_image(bad).ok());
  EXPECT_EQ(raw_int("SELECT COUNT(*) FROM catalog_images"), 0);
}

TEST_P(MetaStoreTest, ConcurrentCallersAreSerialized) {
  constexpr int kThreads = 8, kPerThread = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = std::to_string(t);  // not "t" + ...: g++ 12 -O3 -Wrestrict false positive
        id.append("-").append(std::to_string(i));
        EXPECT_TRUE(store().create_account(account(id)).ok());
        auto got = store().get_account(id);
        EXPECT_TRUE(got.ok() && got->has_value());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto all = store().list_accounts();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), static_cast<std::size_t>(kThreads * kPerThread));
}

std::vector<Backend> backends() {
  // The PostgreSQL backend joins here (when a test database URL is configured).
  return {Backend{"sqlite", &testing::make_sqlite_harness},
          // Skipped unless SCSIPUB_TEST_PG_URL is set (tests/db/postgres_harness.cc).
          Backend{"postgres", &testing::make_postgres_harness}};
}

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Backends, MetaStoreTest, ::testing::ValuesIn(backends()), backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, PrTest, ::testing::ValuesIn(backends()), backend_name);

}  // namespace
}  // namespace scsipub::db
