// TargetDirectory and ISO catalog images: an entry with Presentation::dvd is
// bound as a DVD-ROM logical unit (MMC, type 05h) over the shared base, with
// no overlay file, no overlay byte reservation and nothing written.
#include <gtest/gtest.h>

#include <fstream>

#include "common/limit_events.h"
#include "control/catalog.h"
#include "control/fixed_clock_random.h"
#include "control/dvd_unit.h"
#include "control/target_directory.h"
#include "control/target_names.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using scsipub::testing::TempDir;

class DvdUnitTest : public ::testing::Test {
 protected:
  // First, so they outlive everything built on them.
  scsipub::testing::FixedClock clock_;
  scsipub::testing::SeededRandom random_;

  void SetUp() override {
    images_ = tmp_.path() / "images";
    std::filesystem::create_directories(images_);
    write_file("disc.iso", 10 * 2048 + 100);  // 11 DVD blocks
    write_file("disk.img", 1 << 20);
    catalog_ = std::make_unique<Catalog>(images_);
    ASSERT_TRUE(catalog_->rescan());
    DirectoryConfig dcfg;
    dcfg.overlay_dir = tmp_.path() / "overlays";
    std::filesystem::create_directories(dcfg.overlay_dir);
    dcfg.free_tier.blank_size = 4u << 20;
    dcfg.free_tier.overlay_bytes_per_ip = 512;  // no disk image fits; a DVD needs none
    dcfg.limit_events = &events_;
    directory_ = std::make_unique<TargetDirectory>(dcfg, *catalog_, local_placement(), clock_, random_);
  }
  void write_file(const std::string& name, size_t size) {
    std::ofstream f(images_ / name, std::ios::binary);
    for (size_t i = 0; i < size; ++i) f.put(char(i * 7));
  }
  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind(uint64_t id, const std::string& target) {
    lu::Nexus n;
    n.id = id;
    n.initiator_name = "iqn.2025-01.test:node";
    n.isid[5] = static_cast<uint8_t>(id);  // one initiator, a session per ISID
    n.target_name = target;
    iscsi::PortalInfo portal{"127.0.0.1", 3260, "198.51.100.7", 40000, false, ""};
    return directory_->bind(target, n, portal);
  }
  size_t overlay_files() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(tmp_.path() / "overlays")) ++n;
    return n;
  }

  TempDir tmp_;
  std::filesystem::path images_;
  LimitEvents events_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<TargetDirectory> directory_;
};

TEST_F(DvdUnitTest, IsoEntriesAreServedAsDvd) {
  EXPECT_EQ(catalog_->find("disc")->presentation, Presentation::dvd);
  EXPECT_EQ(catalog_->find("disk")->presentation, Presentation::disk);
}

TEST_F(DvdUnitTest, BindsADvdRomUnitWithoutOverlayOrReservation) {
  auto b = bind(1, image_target("disc"));
  ASSERT_TRUE(b.ok()) << b.error().message;
  lu::LogicalUnit* unit = b.value()->luns().find(0);
  ASSERT_NE(unit, nullptr);
  EXPECT_EQ(unit->identity().device_type, lu::DeviceType::cd_dvd);
  EXPECT_EQ(unit->identity().product, "DVD-ROM");
  EXPECT_FALSE(unit->identity().serial.empty());
  EXPECT_TRUE(unit->store().read_only());
  EXPECT_EQ(unit->store().block_count(), (10u * 2048 + 100 + 511) / 512);  // 512-byte store under the 2048 view
  EXPECT_EQ(overlay_files(), 0u);
  auto usage = directory_->overlay_usage(1);
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->bytes, 0u);
  EXPECT_EQ(usage->limit, 0u);
  // No overlay bytes were reserved: a second DVD login from the same address
  // fits a budget that no disk image fits.
  EXPECT_TRUE(bind(2, image_target("disc")).ok());
  EXPECT_FALSE(bind(3, image_target("disk")).ok());
  EXPECT_EQ(events_.count(Limit::free_overlay_per_ip), 1u);
}

TEST_F(DvdUnitTest, DefaultMultiTakesDisksOnly) {
  // One disk image and one ISO: fewer than two disks, so blank twice.
  EXPECT_EQ(directory_->multi_images(), (std::vector<std::string>{"blank", "blank"}));
  write_file("second.img", 4096);
  ASSERT_TRUE(catalog_->rescan());
  EXPECT_EQ(directory_->multi_images(), (std::vector<std::string>{"disk", "second"}));
}

}  // namespace
}  // namespace scsipub::control
