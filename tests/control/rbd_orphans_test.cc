// RBD images left behind: the orphan sweep (RbdDiskStorage::sweep_orphans,
// StorageSweeper) and a disk deleted through a node that does not have it
// open, against a real cluster (SCSIPUB_TEST_CEPH_ENV, see
// scripts/ceph-test-cluster.sh); skipped when none is configured. The name
// classification needs no cluster.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rbd/librbd.h>

#include <random>
#include <set>
#include <thread>
#include <vector>

#include "control/fixed_clock_random.h"
#include "control/provisioned_disks.h"
#include "control/rbd_disk_storage.h"
#include "control/storage_sweeper.h"
#include "db/sqlite_store.h"
#include "storage/ceph_test_env.h"
#include "storage/rbd_images.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using Kind = RbdImageName::Kind;

TEST(RbdImageName, OnlyNamesThisStorageMakesAreRecognised) {
  EXPECT_EQ(classify_rbd_image("p-", "p-disk-00ab-lun0").kind, Kind::lun);
  EXPECT_EQ(classify_rbd_image("p-", "p-disk-00ab-lun12").disk_id, "00ab");
  EXPECT_EQ(classify_rbd_image("p-", "p-base-debian.iso-1048576").kind, Kind::base);
  EXPECT_EQ(classify_rbd_image("p-", "p-base-debian.iso-1048576.importing.4242.7").kind, Kind::staging);
  // Not ours, or not exactly the shape ours have: never touched.
  for (const char* name : {"disk-00ab-lun0", "q-disk-00ab-lun0", "p-disk-00ab-lun", "p-disk--lun0", "p-disk-0-0-lun0",
                           "p-disk-00ab-lunX", "p-disk-00ab", "p-other", "p-base-x.importing.1", "p-base-x.importing.1.a"}) {
    const Kind k = classify_rbd_image("p-", name).kind;
    EXPECT_TRUE(k == Kind::foreign || k == Kind::base) << name;
  }
}

DiskIdsReader ids(std::set<std::string, std::less<>> set) {
  return [set] { return Result<std::set<std::string, std::less<>>>(set); };
}

class RbdOrphansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = testing::ceph_test_config();
    if (!config) GTEST_SKIP() << "SCSIPUB_TEST_CEPH_ENV not set: no Ceph cluster for this run";
    auto c = storage::RbdCluster::connect(*config);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cluster_ = c.value();
    prefix_ = testing::unique_image_prefix();
    storage_ = make_storage(cluster_);
  }
  std::unique_ptr<RbdDiskStorage> make_storage(std::shared_ptr<storage::RbdCluster> cluster) {
    return std::make_unique<RbdDiskStorage>(std::move(cluster), prefix_, [](const std::string& name) {
      return Result<std::shared_ptr<const storage::ImageSource>>(fail("no image " + name));
    });
  }
  bool exists(const std::string& name) { return storage::rbd_image_exists(*cluster_, name).value(); }
  // One sweep by this test's client; a failed sweep fails the test.
  OrphanSweep sweep(std::set<std::string, std::less<>> records, std::chrono::seconds grace) {
    auto swept = storage_->sweep_orphans(ids(std::move(records)), grace);
    EXPECT_TRUE(swept.ok()) << swept.error().message;
    return swept.ok() ? swept.value() : OrphanSweep{};
  }
  // LUN 0 of `disk` opened and written by a client of its own, which then
  // holds the image's watch and exclusive lock.
  struct OtherClient {
    std::shared_ptr<storage::RbdCluster> cluster;
    LunStorage lun;
  };
  OtherClient open_elsewhere(const std::string& disk) {
    OtherClient out;
    auto cluster = storage::RbdCluster::connect(*testing::ceph_test_config());
    EXPECT_TRUE(cluster.ok());
    if (!cluster.ok()) return out;
    out.cluster = cluster.value();
    auto open = make_storage(out.cluster)->open_lun({disk, 0, "blank", 0, 0});
    EXPECT_TRUE(open.ok()) << open.error().message;
    if (!open.ok()) return out;
    out.lun = open.value();
    std::vector<uint8_t> data(512, 0x5a);
    EXPECT_EQ(out.lun.store->write(0, data), storage::IoStatus::ok);
    return out;
  }
  // A blank LUN image of `disk`, closed again.
  std::string blank_lun(const std::string& disk) {
    auto lun = storage_->create_lun({disk, 0, "blank", 1 << 20, 0});
    EXPECT_TRUE(lun.ok()) << lun.error().message;
    return storage_->lun_image_name(disk, 0);
  }

  std::shared_ptr<storage::RbdCluster> cluster_;
  std::string prefix_;
  std::unique_ptr<RbdDiskStorage> storage_;
};

TEST_F(RbdOrphansTest, OrphanIsKeptWhileYoungAndRemovedAfterTheGrace) {
  const std::string orphan = blank_lun("0a1");
  const OrphanSweep young = sweep({}, std::chrono::hours(1));
  EXPECT_EQ(young.young, 1u);
  EXPECT_EQ(young.removed, 0u);
  EXPECT_TRUE(exists(orphan)) << "a disk being created has its image before its record";
  const OrphanSweep swept = sweep({}, std::chrono::seconds(0));
  EXPECT_EQ(swept.removed, 1u);
  EXPECT_FALSE(exists(orphan));
}

TEST_F(RbdOrphansTest, ImageWithARecordAndForeignImagesAreKept) {
  const std::string kept = blank_lun("0b1");
  // Names under the prefix that are not a LUN, and a name outside it.
  const std::string base = prefix_ + "base-img-1048576";
  const std::string foreign = "x" + prefix_ + "disk-0b2-lun0";
  ASSERT_TRUE(storage::rbd_create_image(*cluster_, base, 1 << 20));
  ASSERT_TRUE(storage::rbd_create_image(*cluster_, foreign, 1 << 20));
  const OrphanSweep swept = sweep({"0b1"}, std::chrono::seconds(0));
  EXPECT_EQ(swept.removed, 0u);
  EXPECT_TRUE(exists(kept));
  EXPECT_TRUE(exists(base)) << "bases are the catalog's, shared by clones";
  EXPECT_TRUE(exists(foreign));
  EXPECT_TRUE(storage::rbd_remove_image(*cluster_, base));
  EXPECT_TRUE(storage::rbd_remove_image(*cluster_, foreign));
  EXPECT_TRUE(storage_->remove_disk("0b1", 1));
}

TEST_F(RbdOrphansTest, ImageOpenOnAnotherClientIsKeptUntilClosed) {
  const std::string name = blank_lun("0c1");
  {
    auto other = open_elsewhere("0c1");
    ASSERT_TRUE(other.lun.store);
    auto use = storage::rbd_image_use(*cluster_, name);
    ASSERT_TRUE(use.ok() && use.value());
    EXPECT_GE(use.value()->watchers, 1u);
    EXPECT_EQ(use.value()->lock_owners, 1u);
    const OrphanSweep swept = sweep({}, std::chrono::seconds(0));
    EXPECT_EQ(swept.in_use, 1u);
    EXPECT_EQ(swept.removed, 0u);
    EXPECT_TRUE(exists(name));
    std::vector<uint8_t> data(512, 0x5b);
    EXPECT_EQ(other.lun.store->write(1, data), storage::IoStatus::ok) << "the owner still writes";
  }
  auto use = storage::rbd_image_use(*cluster_, name);
  ASSERT_TRUE(use.ok() && use.value());
  EXPECT_EQ(use.value()->watchers, 0u) << "a read-only look does not count itself";
  const OrphanSweep swept = sweep({}, std::chrono::seconds(0));
  EXPECT_EQ(swept.removed, 1u);
  EXPECT_FALSE(exists(name));
}

TEST_F(RbdOrphansTest, ALockLeftByADeadClientKeepsNoOrphan) {
  const std::string name = blank_lun("0f1");
  auto dead = open_elsewhere("0f1");
  ASSERT_TRUE(dead.lun.store);
  // The client dies as far as the cluster can tell: fenced, its watch goes,
  // its lock stays.
  ASSERT_TRUE(cluster_->blocklist(dead.cluster->client_address(), 600));
  std::optional<storage::RbdImageUse> use;
  for (int i = 0; i < 120; ++i) {
    auto u = storage::rbd_image_use(*cluster_, name);
    ASSERT_TRUE(u.ok() && u.value());
    use = u.value();
    if (use->watchers == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_EQ(use->watchers, 0u) << "a blocklisted client's watch is dropped";
  EXPECT_EQ(use->lock_owners, 1u);
  const OrphanSweep swept = sweep({}, std::chrono::seconds(0));
  EXPECT_EQ(swept.removed, 1u) << "the lock was broken on removal";
  EXPECT_FALSE(exists(name));
}

TEST_F(RbdOrphansTest, StagingImageOfAnInterruptedImportIsRemoved) {
  // What a crash mid-import leaves: filled, snapshotted, protected, never renamed.
  const std::string staging = prefix_ + "base-img-1048576.importing.99.0";
  ASSERT_TRUE(storage::rbd_create_image(*cluster_, staging, 1 << 20));
  {
    rbd_image_t image = nullptr;
    ASSERT_EQ(rbd_open(cluster_->ioctx(), staging.c_str(), &image, nullptr), 0);
    EXPECT_EQ(rbd_snap_create(image, "base"), 0);
    EXPECT_EQ(rbd_snap_protect(image, "base"), 0);
    rbd_close(image);
  }
  const OrphanSweep young = sweep({}, std::chrono::hours(1));
  EXPECT_EQ(young.young, 1u) << "an import under way may be between creating and opening it";
  const OrphanSweep swept = sweep({}, std::chrono::seconds(0));
  EXPECT_EQ(swept.removed, 1u);
  EXPECT_FALSE(exists(staging));
}

TEST_F(RbdOrphansTest, UnreadableRecordsRemoveNothing) {
  const std::string orphan = blank_lun("0d1");
  DiskIdsReader broken = [] { return Result<std::set<std::string, std::less<>>>(fail("database down")); };
  EXPECT_FALSE(storage_->sweep_orphans(broken, std::chrono::seconds(0)).ok());
  EXPECT_TRUE(exists(orphan));
  EXPECT_TRUE(storage_->remove_disk("0d1", 1));
}

// Two nodes over one database: A has the disk open, the deletion goes
// through B. B cannot remove images A has open; A sees the record gone at its
// next records read, closes the disk and removes them.
class RbdNonOwnerDeleteTest : public RbdOrphansTest {
 protected:
  void SetUp() override {
    RbdOrphansTest::SetUp();
    if (IsSkipped()) return;
    auto store = db::SqliteStore::open(tmp_.path());
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store).value();
    std::map<std::string, Tier, std::less<>> tiers;
    Tier t;
    t.blank_size = 1 << 20;
    tiers.emplace("t", t);
    tiers_ = Tiers(std::move(tiers));
    auto b_cluster = storage::RbdCluster::connect(*testing::ceph_test_config());
    ASSERT_TRUE(b_cluster.ok());
    a_ = make_node(std::shared_ptr<DiskStorage>(make_storage(cluster_)), "a");
    b_ = make_node(std::shared_ptr<DiskStorage>(make_storage(b_cluster.value())), "b");
  }
  std::unique_ptr<ProvisionedDisks> make_node(std::shared_ptr<DiskStorage> storage, const std::string& name) {
    auto node = std::make_unique<ProvisionedDisks>(
        ProvisionedConfig{tmp_.path() / name, std::move(storage), false}, *store_, tiers_,
        [](const std::string& image) { return Result<std::shared_ptr<const storage::ImageSource>>(fail(image)); },
        [](std::string_view) {}, clock_, random_);
    EXPECT_TRUE(node->load());
    return node;
  }

  scsipub::testing::FixedClock clock_;
  scsipub::testing::SeededRandom random_{std::random_device{}()};
  scsipub::testing::TempDir tmp_;
  std::unique_ptr<db::MetaStore> store_;
  Tiers tiers_;
  std::unique_ptr<ProvisionedDisks> a_;
  std::unique_ptr<ProvisionedDisks> b_;
};

TEST_F(RbdNonOwnerDeleteTest, TheOwnerRemovesTheImagesOnceItSeesTheRecordGone) {
  db::Account acct{"acct", "t", std::string(64, 'a'), std::chrono::sys_seconds(std::chrono::seconds(1700000000))};
  ASSERT_TRUE(store_->create_account(acct));
  auto created = a_->create(acct, {"blank", "blank"});
  ASSERT_TRUE(created.ok()) << created.error().message;
  const std::string id = created.value()->record().id;
  created.value().reset();  // the creation's handle closes; A opens the disk under its lease
  ASSERT_TRUE(a_->open_owned(id));
  const std::string lun0 = storage_->lun_image_name(id, 0), lun1 = storage_->lun_image_name(id, 1);
  ASSERT_TRUE(exists(lun0) && exists(lun1));

  b_->sync_records(store_->list_disks().value());
  auto removed = b_->remove(id);
  ASSERT_TRUE(removed.ok() && removed.value());
  EXPECT_TRUE(exists(lun0) && exists(lun1)) << "open on A: B's removal is refused";
  const OrphanSweep swept = sweep({}, std::chrono::seconds(0));
  EXPECT_EQ(swept.in_use, 2u) << "nor does the sweep touch images A has open";

  a_->sync_records(store_->list_disks().value());
  EXPECT_FALSE(a_->find(id));
  a_->wait_removals();  // on the reaper's thread: the keeper's is not held up
  EXPECT_FALSE(exists(lun0)) << "A removed them after closing";
  EXPECT_FALSE(exists(lun1));
}

TEST_F(RbdNonOwnerDeleteTest, ADiskOpenNowhereIsRemovedByTheDeletingNodeAndSweeperCountsRemovals) {
  db::Account acct{"acct", "t", std::string(64, 'a'), std::chrono::sys_seconds(std::chrono::seconds(1700000000))};
  ASSERT_TRUE(store_->create_account(acct));
  auto created = a_->create(acct, {"blank"});
  ASSERT_TRUE(created.ok()) << created.error().message;
  const std::string id = created.value()->record().id;
  created.value().reset();
  b_->sync_records(store_->list_disks().value());
  ASSERT_TRUE(b_->remove(id).value());
  EXPECT_FALSE(exists(storage_->lun_image_name(id, 0))) << "nobody had it open";

  // The crash case: images whose record never got stored (or whose owner
  // died before removing them) go with the sweeper's next round.
  const std::string orphan = blank_lun("0e1");
  StorageSweeper sweeper(*storage_, *store_, {std::chrono::seconds(60), std::chrono::seconds(0)});
  auto r = sweeper.sweep_once();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(sweeper.removed_total(), 1u);
  EXPECT_EQ(sweeper.sweeps_total(), 1u);
  EXPECT_FALSE(exists(orphan));
}

}  // namespace
}  // namespace scsipub::control
