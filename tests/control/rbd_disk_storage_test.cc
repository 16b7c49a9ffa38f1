// RbdDiskStorage against a real cluster (SCSIPUB_TEST_CEPH_ENV, see
// scripts/ceph-test-cluster.sh); skipped when none is configured.
#include "control/rbd_disk_storage.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "storage/ceph_test_env.h"
#include "storage/rbd_backup.h"
#include "storage/rbd_images.h"
#include "storage/rbd_store.h"

namespace scsipub::control {
namespace {

class CountingImage final : public storage::ImageSource {
 public:
  uint64_t size_bytes() const override { return (4u << 20) + 100; }  // a partial last block
  bool all_zeros() const override { return false; }
  int read_at(uint64_t offset, std::span<uint8_t> out) const override {
    for (size_t i = 0; i < out.size(); ++i) out[i] = offset + i < size_bytes() ? uint8_t((offset + i) % 251) : 0;
    return 0;
  }
};

class RbdDiskStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = testing::ceph_test_config();
    if (!config) GTEST_SKIP() << "SCSIPUB_TEST_CEPH_ENV not set: no Ceph cluster for this run";
    auto c = storage::RbdCluster::connect(*config);
    ASSERT_TRUE(c.ok()) << c.error().message;
    cluster_ = c.value();
    prefix_ = testing::unique_image_prefix();
    image_ = std::make_shared<CountingImage>();
    storage_ = std::make_unique<RbdDiskStorage>(cluster_, prefix_, [this](const std::string& name) {
      if (name != "img") return Result<std::shared_ptr<const storage::ImageSource>>(fail("no image " + name));
      return Result<std::shared_ptr<const storage::ImageSource>>(std::shared_ptr<const storage::ImageSource>(image_));
    });
  }
  std::shared_ptr<storage::RbdCluster> cluster_;
  std::string prefix_;
  std::shared_ptr<CountingImage> image_;
  std::unique_ptr<RbdDiskStorage> storage_;
};

TEST_F(RbdDiskStorageTest, CreatesCloneAndBlankOpensThemAgainAndRemoves) {
  const uint64_t image_blocks = (image_->size_bytes() + 511) / 512;
  {
    auto lun0 = storage_->create_lun({"d1", 0, "img", 0, 0});
    ASSERT_TRUE(lun0.ok()) << lun0.error().message;
    EXPECT_EQ(lun0.value().store->block_count(), image_blocks);
    std::vector<uint8_t> buf(512);
    ASSERT_EQ(lun0.value().store->read(image_blocks - 1, buf), storage::IoStatus::ok);
    const uint64_t off = (image_blocks - 1) * 512;
    EXPECT_EQ(buf[0], uint8_t(off % 251));
    EXPECT_EQ(buf[100], 0) << "past the image's end: zeros";
    EXPECT_EQ(lun0.value().bytes_written(), 0u);
    std::vector<uint8_t> data(512, 0x42);
    ASSERT_EQ(lun0.value().store->write(0, data), storage::IoStatus::ok);

    auto lun1 = storage_->create_lun({"d1", 1, "blank", 2 << 20, 0});
    ASSERT_TRUE(lun1.ok()) << lun1.error().message;
    EXPECT_EQ(lun1.value().store->block_count(), (2u << 20) / 512);
    EXPECT_FALSE(storage_->create_lun({"d1", 1, "blank", 2 << 20, 0}).ok()) << "exists already";
    EXPECT_FALSE(storage_->create_lun({"d2", 0, "gone", 0, 0}).ok());
  }
  EXPECT_TRUE(storage::rbd_image_exists(*cluster_, storage_->base_image_name("img", image_blocks * 512)).value());
  {
    auto again = storage_->open_lun({"d1", 0, "img", 0, 0});
    ASSERT_TRUE(again.ok()) << again.error().message;
    std::vector<uint8_t> buf(512);
    ASSERT_EQ(again.value().store->read(0, buf), storage::IoStatus::ok);
    EXPECT_EQ(buf, std::vector<uint8_t>(512, 0x42));
    auto blank = storage_->open_lun({"d1", 1, "blank", 999, 0});
    ASSERT_TRUE(blank.ok()) << blank.error().message;
    EXPECT_EQ(blank.value().store->block_count(), (2u << 20) / 512) << "the image keeps its size";
  }
  ASSERT_TRUE(storage_->remove_disk("d1", 2));
  EXPECT_FALSE(storage::rbd_image_exists(*cluster_, storage_->lun_image_name("d1", 0)).value());
  EXPECT_FALSE(storage::rbd_image_exists(*cluster_, storage_->lun_image_name("d1", 1)).value());
  EXPECT_TRUE(storage_->remove_disk("d1", 2)) << "already gone is fine";
}

// A backup reaches an open LUN's image through LunStorage::rbd, names a
// disk's images from its record, and a snapshot a backup left behind does
// not keep the disk from being removed.
TEST_F(RbdDiskStorageTest, BackupSnapshotsTheOpenLunAndRemovalClearsLeftovers) {
  db::Disk disk;
  disk.id = "d7";
  disk.luns = {"img", "blank"};
  EXPECT_EQ(storage_->disk_image_names(disk),
            (std::vector<std::string>{storage_->lun_image_name("d7", 0), storage_->lun_image_name("d7", 1)}));
  const std::string snap = storage::rbd_backup_snapshot_name(std::chrono::system_clock::now());
  {
    auto lun0 = storage_->create_lun({"d7", 0, "img", 0, 0});
    ASSERT_TRUE(lun0.ok()) << lun0.error().message;
    auto lun1 = storage_->create_lun({"d7", 1, "blank", 1 << 20, 0});
    ASSERT_TRUE(lun1.ok()) << lun1.error().message;
    for (auto* lun : {&lun0.value(), &lun1.value()}) {
      auto rbd = lun->rbd.lock();
      ASSERT_NE(rbd, nullptr);
      EXPECT_EQ(static_cast<storage::BlockStore*>(rbd.get()), lun->store.get()) << "the same open image";
      ASSERT_TRUE(rbd->create_snapshot(snap).ok());
    }
    auto snaps = lun1.value().rbd.lock()->snapshots();
    ASSERT_TRUE(snaps.ok()) << snaps.error().message;
    EXPECT_EQ(snaps.value(), std::vector<std::string>{snap});
    std::vector<uint8_t> data(4096, 0x5a);
    ASSERT_EQ(lun0.value().store->write(8, data), storage::IoStatus::ok);
    ASSERT_EQ(lun1.value().store->write(16, data), storage::IoStatus::ok);
    auto weak = lun1.value().rbd;
    lun1.value().store.reset();
    EXPECT_TRUE(weak.expired()) << "the backup's handle does not keep a closed LUN open";
  }  // closed with the snapshots still there, as after a crashed backup

  // Export both as of the snapshot, restore them as disk d8.
  std::vector<std::filesystem::path> files;
  for (uint32_t lun = 0; lun < 2; ++lun) {
    files.push_back(std::filesystem::temp_directory_path() / fmt::format("{}lun{}", prefix_, lun));
    auto exported = storage::rbd_export_snapshot(*cluster_, storage_->lun_image_name("d7", lun), snap, files.back());
    ASSERT_TRUE(exported.ok()) << exported.error().message;
  }
  for (uint32_t lun = 0; lun < 2; ++lun) {
    auto restored = storage_->restore_lun({"d8", lun, disk.luns[lun], 0, 0}, files[lun]);
    ASSERT_TRUE(restored.ok()) << restored.error().message;
  }
  EXPECT_FALSE(storage_->restore_lun({"d8", 0, "img", 0, 0}, files[0]).ok()) << "never overwrites";
  {
    auto lun0 = storage_->open_lun({"d8", 0, "img", 0, 0});
    ASSERT_TRUE(lun0.ok()) << lun0.error().message;
    std::vector<uint8_t> buf(512);
    ASSERT_EQ(lun0.value().store->read(8, buf), storage::IoStatus::ok);
    EXPECT_EQ(buf[0], uint8_t((8 * 512) % 251)) << "the base's data, as of the snapshot";
    EXPECT_EQ(lun0.value().bytes_written(), 0u) << "a clone of the base again: it holds nothing of its own";
    auto lun1 = storage_->open_lun({"d8", 1, "blank", 0, 0});
    ASSERT_TRUE(lun1.ok()) << lun1.error().message;
    EXPECT_EQ(lun1.value().store->block_count(), (1u << 20) / 512);
    ASSERT_EQ(lun1.value().store->read(16, buf), storage::IoStatus::ok);
    EXPECT_EQ(buf, std::vector<uint8_t>(512, 0)) << "the write after the snapshot is not in it";
  }
  for (const auto& f : files) std::filesystem::remove(f);
  ASSERT_TRUE(storage_->remove_disk("d8", 2));
  ASSERT_TRUE(storage_->remove_disk("d7", 2)) << "leftover backup snapshots are removed first";
  for (const auto& name : storage_->disk_image_names(disk)) {
    EXPECT_FALSE(storage::rbd_image_exists(*cluster_, name).value()) << name;
  }
}

// The LUN's write_limit reaches the store, and bytes_written (the dashboard's
// figure) is the image's own allocation, in whole objects.
TEST_F(RbdDiskStorageTest, BytesWrittenIsTheAllocationAndTheLimitIsEnforced) {
  const uint64_t object = 4u << 20;  // librbd's default object size for a new image
  {
    auto lun = storage_->create_lun({"d3", 0, "blank", 4 * object, object});
    ASSERT_TRUE(lun.ok()) << lun.error().message;
    EXPECT_EQ(lun.value().bytes_written(), 0u);
    std::vector<uint8_t> data(4096, 0x17);
    ASSERT_EQ(lun.value().store->write(8, data), storage::IoStatus::ok);
    EXPECT_EQ(lun.value().bytes_written(), object);
    EXPECT_EQ(lun.value().store->write(object / 512, data), storage::IoStatus::space_exhausted);
    EXPECT_EQ(lun.value().bytes_written(), object);
  }
  {
    auto lun = storage_->open_lun({"d3", 0, "blank", 0, 0});
    ASSERT_TRUE(lun.ok()) << lun.error().message;
    EXPECT_EQ(lun.value().bytes_written(), object) << "measured again at open";
    auto counter = lun.value().bytes_written;
    lun.value().store.reset();
    EXPECT_EQ(counter(), 0u) << "a closed LUN reports nothing and is not kept open by its counter";
  }
  ASSERT_TRUE(storage_->remove_disk("d3", 1));
}

TEST_F(RbdDiskStorageTest, FencingSkipsItselfAndEmptyAndBlocklistsOthers) {
  EXPECT_FALSE(storage_->client_address().empty());
  EXPECT_TRUE(storage_->fence(""));
  EXPECT_TRUE(storage_->fence(storage_->client_address())) << "never fences itself";
  auto other = storage::RbdCluster::connect(*testing::ceph_test_config());
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(storage_->fence(other.value()->client_address()));
}

}  // namespace
}  // namespace scsipub::control
