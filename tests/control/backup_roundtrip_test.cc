// A backup of a live local disk and a SQLite MetaStore, restored into a new
// data directory; and the restore's refusals of damaged or hostile backups.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "control/backup_restore.h"
#include "control/backup_writer.h"
#include "control/disk_storage.h"
#include "db/sqlite_store.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

namespace fs = std::filesystem;
using scsipub::testing::TempDir;

constexpr uint64_t kLunBytes = 8 << 20;

struct Fixture {
  TempDir tmp;
  fs::path data = tmp / "data";
  std::unique_ptr<db::SqliteStore> store;
  std::shared_ptr<storage::LockedStore> lun;
  std::vector<uint8_t> block = std::vector<uint8_t>(512, 0x5a);

  Fixture() {
    fs::create_directories(data);
    store = std::move(db::SqliteStore::open(data)).value();
    EXPECT_TRUE(store->create_account({"acc1", "standard", std::string(64, 'b'), {}}).ok());
    LocalDiskStorage disks(data / "disks", [](const std::string&) -> Result<std::shared_ptr<const storage::ImageSource>> {
      return fail("no catalog");
    });
    auto l = disks.create_lun({"ab12", 0, "blank", kLunBytes, 0});
    EXPECT_TRUE(l.ok());
    lun = std::dynamic_pointer_cast<storage::LockedStore>(l->store);
    // Not flushed: the backup's pause flushes.
    EXPECT_EQ(lun->write(0, block), storage::IoStatus::ok);
    EXPECT_EQ(lun->write(12000, block), storage::IoStatus::ok);
  }

  BackupSources sources() {
    BackupSources s;
    s.scsipub_version = "test";
    s.mode = "online";
    s.sqlite_file = data / "scsipub.db";
    std::vector<BackupDiskSource> disks{{"ab12", "local", {{provisioned_overlay_path(data / "disks" / "ab12", 0), lun}}}};
    s.list_disks = [disks] { return disks; };
    return s;
  }
};

void nothing(const std::string&) {}

TEST(BackupRoundTrip, LiveDiskAndDatabaseRestored) {
  Fixture f;
  auto m = write_backup(f.tmp / "bk", f.sources(), nothing);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_FALSE(fs::exists(f.tmp / "bk.partial"));
  EXPECT_TRUE(fs::exists(f.tmp / "bk" / "manifest.json"));
  ASSERT_EQ(m->files.size(), 3u);
  EXPECT_EQ(m->database, "sqlite");
  EXPECT_EQ(m->schema_version, db::kLatestSchemaVersion);
  ASSERT_EQ(m->disks.size(), 1u);
  EXPECT_EQ(m->disks[0].files.size(), 2u);

  const fs::path target = f.tmp / "new";
  auto r = restore_backup(f.tmp / "bk", {target, target / "scsipub.db", target / "images"}, nothing);
  ASSERT_TRUE(r.ok()) << r.error().message;
  // The records and the data are back.
  auto restored = db::SqliteStore::open(target);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_TRUE(restored.value()->get_account("acc1").value().has_value());
  LocalDiskStorage disks(target / "disks", nullptr);
  auto lun = disks.open_lun({"ab12", 0, "blank", kLunBytes, 0});
  ASSERT_TRUE(lun.ok()) << lun.error().message;
  std::vector<uint8_t> out(512);
  ASSERT_EQ(lun->store->read(12000, out), storage::IoStatus::ok);
  EXPECT_EQ(out, f.block);
  ASSERT_EQ(lun->store->read(1, out), storage::IoStatus::ok);
  EXPECT_EQ(out, std::vector<uint8_t>(512, 0));
  EXPECT_TRUE(fs::exists(target / "disks" / "clean-shutdown"));
  // A second restore onto the now non-empty target is refused.
  EXPECT_FALSE(restore_backup(f.tmp / "bk", {target, target / "scsipub.db", target / "images"}, nothing).ok());
}

TEST(BackupRoundTrip, TargetRefusals) {
  Fixture f;
  fs::create_directories(f.tmp / "full");
  std::ofstream(f.tmp / "full" / "x") << "x";
  EXPECT_FALSE(write_backup(f.tmp / "full", f.sources(), nothing).ok());
  fs::create_directories(f.tmp / "again.partial");
  EXPECT_FALSE(write_backup(f.tmp / "again", f.sources(), nothing).ok());
  EXPECT_FALSE(write_backup(f.tmp / "missing-parent" / "bk", f.sources(), nothing).ok());
  // An empty directory is fine.
  fs::create_directories(f.tmp / "empty");
  EXPECT_TRUE(write_backup(f.tmp / "empty", f.sources(), nothing).ok());
  // Disks on other storage are refused before anything is written...
  auto s = f.sources();
  s.storage = "rbd";
  auto r = write_backup(f.tmp / "rbd", s, nothing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("on rbd storage"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(f.tmp / "rbd"));
  EXPECT_FALSE(fs::exists(f.tmp / "rbd.partial"));
  // ...and one such disk in the list fails the backup by its name, leaving no partial.
  s = f.sources();
  s.list_disks = [] { return std::vector<BackupDiskSource>{{"cd34", "rbd", {}}}; };
  r = write_backup(f.tmp / "rbd2", s, nothing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("disk cd34 is on rbd storage"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(f.tmp / "rbd2"));
  EXPECT_FALSE(fs::exists(f.tmp / "rbd2.partial"));
}

TEST(BackupRoundTrip, DamagedOrHostileBackupsWriteNothing) {
  Fixture f;
  ASSERT_TRUE(write_backup(f.tmp / "bk", f.sources(), nothing).ok());
  auto copy = [&](const std::string& name) {
    fs::copy(f.tmp / "bk", f.tmp / name, fs::copy_options::recursive);
    return f.tmp / name;
  };
  auto refused = [&](const fs::path& bk, const std::string& why) {
    const fs::path target = f.tmp / ("target-" + bk.filename().string());
    auto r = restore_backup(bk, {target, target / "scsipub.db", target / "images"}, nothing);
    EXPECT_FALSE(r.ok()) << bk;
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
    }
    EXPECT_FALSE(fs::exists(target)) << "restore wrote into " << target;
  };
  // One flipped byte.
  auto flipped = copy("flipped");
  {
    std::fstream img(flipped / "disks" / "ab12" / "lun0.img", std::ios::in | std::ios::out | std::ios::binary);
    img.seekp(12000 * 512 + 7);
    img.put('\x01');
  }
  refused(flipped, "checksum mismatch");
  // A file swapped for a symlink to the same content elsewhere.
  auto linked = copy("linked");
  fs::rename(linked / "meta.db", f.tmp / "outside.db");
  fs::create_symlink(f.tmp / "outside.db", linked / "meta.db");
  refused(linked, "symlink");
  // A truncated file.
  auto shorter = copy("shorter");
  fs::resize_file(shorter / "disks" / "ab12" / "lun0.img", 4096);
  refused(shorter, "bytes, the manifest says");
  // No manifest: an interrupted backup.
  auto bare = copy("bare");
  fs::remove(bare / "manifest.json");
  refused(bare, "no manifest.json");
}

}  // namespace
}  // namespace scsipub::control
