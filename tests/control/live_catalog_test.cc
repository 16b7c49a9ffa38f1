// The catalog while the server runs: metadata from the
// MetaStore, images appearing and disappearing on directory events, and a
// replaced or removed base that running sessions never notice.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "control/catalog.h"
#include "control/fixed_clock_random.h"
#include "control/catalog_watcher.h"
#include "control/image_usage.h"
#include "control/target_directory.h"
#include "control/target_names.h"
#include "db/sqlite_store.h"
#include "iscsi/login_negotiator.h"
#include "lu/logical_unit.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using scsipub::testing::TempDir;
using scsipub::testing::write_file;

db::CatalogImage row(const std::string& name, const std::string& presentation = "auto") {
  return db::CatalogImage{name, "The " + name, "about " + name, 4096, "feed", "qcow2", "/tmp/x.qcow2", presentation,
                          db::Timestamp(std::chrono::seconds(1'700'000'000))};
}

TEST(LiveCatalog, MetadataComesFromTheStoreAndTheFilesDecideWhatExists) {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "images");
  auto store = db::SqliteStore::open(tmp.path());
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->put_catalog_image(row("described")));
  ASSERT_TRUE((*store)->put_catalog_image(row("cd", "disk")));
  ASSERT_TRUE((*store)->put_catalog_image(row("rowonly")));  // no file: not listed
  write_file(tmp / "images" / "described.img", std::vector<uint8_t>(4096, 1));
  write_file(tmp / "images" / "cd.iso", std::vector<uint8_t>(4096, 2));
  write_file(tmp / "images" / "plain.iso", std::vector<uint8_t>(4096, 3));  // a file without a row
  Catalog cat(tmp / "images", store->get());
  ASSERT_TRUE(cat.rescan());
  auto entries = cat.entries();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].name, "cd");
  EXPECT_EQ(entries[0].presentation, Presentation::disk);  // the row serves this ISO as a disk
  EXPECT_EQ(entries[1].name, "described");
  EXPECT_EQ(entries[1].title, "The described");
  EXPECT_EQ(entries[1].description, "about described");
  EXPECT_EQ(entries[1].source_format, "qcow2");
  EXPECT_EQ(entries[1].added_at, 1'700'000'000);
  EXPECT_EQ(entries[2].name, "plain");
  EXPECT_EQ(entries[2].presentation, Presentation::dvd);
  EXPECT_TRUE(entries[2].title.empty());
}

TEST(LiveCatalog, ImagesUnderProvisionedDisksMayNotChange) {
  TempDir tmp;
  auto store = db::SqliteStore::open(tmp.path());
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->create_account(db::Account{"acct", "paid", "h", db::Timestamp{}}));
  db::Disk d;
  d.id = "d1";
  d.account_id = "acct";
  d.luns = {"blank", "debian"};
  d.chap_user = "u";
  d.chap_secret = "secretsecret";
  ASSERT_TRUE((*store)->create_disk(d));
  EXPECT_TRUE(image_may_change(**store, "alpine"));
  auto refused = image_may_change(**store, "debian");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("d1"), std::string::npos);
}

// Reads the first block of LUN 0 of a binding.
uint8_t first_byte(const iscsi::TargetBinding& binding) {
  std::vector<uint8_t> block(storage::kBlockSize);
  auto* lu = binding.luns().find(0);
  EXPECT_NE(lu, nullptr);
  if (lu == nullptr) return 0;
  lu->store().read(0, block);
  return block[0];
}

class LiveDirectoryTest : public ::testing::Test {
 protected:
  // First, so they outlive everything built on them.
  scsipub::testing::FixedClock clock_;
  scsipub::testing::SeededRandom random_;

  void SetUp() override {
    std::filesystem::create_directories(tmp_ / "images");
    std::filesystem::create_directories(tmp_ / "overlays");
    catalog_ = std::make_unique<Catalog>(tmp_ / "images");
    DirectoryConfig dcfg;
    dcfg.overlay_dir = tmp_ / "overlays";
    directory_ = std::make_unique<TargetDirectory>(dcfg, *catalog_, local_placement(), clock_, random_);
  }
  void rescan() {
    ASSERT_TRUE(catalog_->rescan());
    directory_->catalog_changed();
  }
  // Writes NAME.img filled with `fill` under a temporary name and renames it
  // in, as `scsipub image add --replace` does.
  void put_image(const std::string& name, uint8_t fill) {
    write_file(tmp_ / "images" / ".incoming", std::vector<uint8_t>(64 * 1024, fill));
    std::filesystem::rename(tmp_ / "images" / ".incoming", tmp_ / "images" / (name + ".img"));
  }
  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind(uint64_t id, const std::string& target) {
    lu::Nexus n;
    n.id = id;
    n.initiator_name = "iqn.2025-01.test:node";
    n.isid[5] = static_cast<uint8_t>(id);  // one initiator, a session per ISID
    n.target_name = target;
    iscsi::PortalInfo portal{"127.0.0.1", 3260, "127.0.0.1", static_cast<uint16_t>(40000 + id), false, ""};
    return directory_->bind(target, n, portal);
  }
  iscsi::PortalInfo portal_{"127.0.0.1", 3260, "127.0.0.1", 40000, false, ""};
  TempDir tmp_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<TargetDirectory> directory_;
};

TEST_F(LiveDirectoryTest, ReplacedBaseNeverChangesWhatARunningSessionReads) {
  put_image("demo", 0xAA);
  rescan();
  auto first = bind(1, image_target("demo"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first_byte(**first), 0xAA);

  put_image("demo", 0xBB);  // replaced under the same name
  rescan();
  EXPECT_EQ(first_byte(**first), 0xAA) << "the running session keeps its open base";
  auto second = bind(2, image_target("demo"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first_byte(**second), 0xBB) << "a new login gets the new file";
  EXPECT_EQ(first_byte(**first), 0xAA);
}

TEST_F(LiveDirectoryTest, RemovedImageRefusesNewLoginsAndKeepsServingRunningOnes) {
  put_image("gone", 0x5A);
  rescan();
  auto running = bind(1, image_target("gone"));
  ASSERT_TRUE(running.ok());
  std::filesystem::remove(tmp_ / "images" / "gone.img");
  rescan();
  EXPECT_FALSE(directory_->find(image_target("gone"), {}, portal_).has_value());
  auto refused = bind(2, image_target("gone"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().status_class, iscsi::login_status::kInitiatorError);
  EXPECT_EQ(first_byte(**running), 0x5A) << "the unlinked file stays readable through the open descriptor";
  auto all = directory_->send_targets("All", "", "", portal_);
  for (const auto& t : all) EXPECT_NE(t.name, image_target("gone"));
}

TEST(CatalogWatcher, RescansOnRenamesAndDeletesAndIgnoresTemporaryNames) {
  TempDir tmp;
  std::atomic<int> changes{0};
  CatalogWatcher watcher(tmp.path(), [&] { changes.fetch_add(1); });
  ASSERT_TRUE(watcher.start());
  auto wait_for = [&](int n) {
    for (int i = 0; i < 200 && changes.load() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return changes.load();
  };
  write_file(tmp / ".x.ingest-abc", std::vector<uint8_t>(512, 1));  // temp file: closed, but not an image name
  write_file(tmp / "notes.txt", std::vector<uint8_t>(10, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(changes.load(), 0);
  std::filesystem::rename(tmp / ".x.ingest-abc", tmp / "x.img");
  EXPECT_EQ(wait_for(1), 1);
  std::filesystem::remove(tmp / "x.img");
  EXPECT_EQ(wait_for(2), 2);
  write_file(tmp / "y.iso", std::vector<uint8_t>(2048, 1));  // written in place: seen when closed
  EXPECT_EQ(wait_for(3), 3);
  watcher.stop();
}

TEST(CatalogWatcher, FailsClearlyOnAMissingDirectory) {
  CatalogWatcher watcher("/nonexistent/images", [] {});
  auto s = watcher.start();
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("/nonexistent/images"), std::string::npos);
}

}  // namespace
}  // namespace scsipub::control
