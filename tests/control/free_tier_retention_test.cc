// A free-tier session that ends without a Logout keeps its overlays for a
// grace period, and a login of the same nexus from the same address takes
// them back: same data, same LU identity. Everyone else, and everyone after
// the grace period, gets a fresh disk; the retained bytes stay in the budgets.
#include <gtest/gtest.h>

#include <array>
#include <filesystem>

#include "common/limit_events.h"
#include "control/catalog.h"
#include "control/fixed_clock_random.h"
#include "control/target_directory.h"
#include "control/target_names.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using scsipub::testing::TempDir;
using Binding = std::unique_ptr<iscsi::TargetBinding>;
using iscsi::SessionEnd;

constexpr uint64_t kDisk = 4u << 20;  // the blank disk of these tests
constexpr uint64_t kLba = 100;

struct Login {
  uint8_t isid = 1;
  std::string peer = "198.51.100.7";
  std::string group;  // empty: the address is its own group
};

class RetentionTest : public ::testing::Test {
 protected:
  // First, so they outlive everything built on them.
  scsipub::testing::FixedClock clock_;
  scsipub::testing::SeededRandom random_;

  void make(std::chrono::seconds retain = std::chrono::seconds(20), uint64_t per_ip = 0) {
    std::filesystem::create_directories(tmp_.path() / "images");
    catalog_ = std::make_unique<Catalog>(tmp_.path() / "images");
    ASSERT_TRUE(catalog_->rescan());
    DirectoryConfig dcfg;
    dcfg.overlay_dir = overlay_dir();
    std::filesystem::create_directories(dcfg.overlay_dir);
    dcfg.free_tier.blank_size = kDisk;
    dcfg.free_tier.overlay_bytes_per_ip = per_ip;
    dcfg.free_tier.retain = retain;
    dcfg.limit_events = &events_;
    directory_ = std::make_unique<TargetDirectory>(dcfg, *catalog_, local_placement(), clock_, random_);
  }

  std::filesystem::path overlay_dir() const { return tmp_.path() / "overlays"; }

  Result<Binding, iscsi::BindError> bind(const Login& who) {
    lu::Nexus n;
    n.id = ++next_session_;
    n.initiator_name = "iqn.2025-01.test:node";
    n.isid = {0x80, 0, 0, 0, 0, who.isid};
    n.target_name = blank_target();
    iscsi::PortalInfo portal{"127.0.0.1", 3260, who.peer, static_cast<uint16_t>(40000 + n.id), false, who.group};
    return directory_->bind(blank_target(), n, portal);
  }
  Binding must_bind(const Login& who) {
    auto b = bind(who);
    EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().message);
    return b.ok() ? std::move(b).value() : nullptr;
  }

  static void end(Binding& b, SessionEnd how) {
    b->end(how);
    b.reset();
  }
  static lu::LogicalUnit& unit(const Binding& b) { return *b->luns().find(0); }
  static void write_marker(const Binding& b, uint8_t value) {
    std::array<uint8_t, 512> block{};
    block.fill(value);
    ASSERT_EQ(unit(b).store().write(kLba, block), storage::IoStatus::ok);
  }
  static uint8_t read_marker(const Binding& b) {
    std::array<uint8_t, 512> block{};
    EXPECT_EQ(unit(b).store().read(kLba, block), storage::IoStatus::ok);
    return block[0];
  }
  size_t overlay_files() const {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(overlay_dir())) n += e.is_regular_file() ? 1 : 0;
    return n;
  }

  TempDir tmp_;
  LimitEvents events_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<TargetDirectory> directory_;
  uint64_t next_session_ = 0;
};

TEST_F(RetentionTest, DroppedSessionReinstatedWithinGraceGetsSameDataAndIdentity) {
  make();
  Binding a = must_bind({});
  write_marker(a, 0x5a);
  const lu::Identity before = unit(a).identity();
  end(a, SessionEnd::dropped);
  EXPECT_EQ(directory_->retained_count(), 1u);
  EXPECT_GT(overlay_files(), 0u);  // kept on disk meanwhile

  clock_.advance(std::chrono::seconds(19));
  EXPECT_EQ(directory_->expire_retained(), 0u);
  Binding b = must_bind({});
  EXPECT_EQ(read_marker(b), 0x5a);
  EXPECT_EQ(unit(b).identity().naa_id, before.naa_id);
  EXPECT_EQ(unit(b).identity().serial, before.serial);
  EXPECT_EQ(directory_->retained_count(), 0u);
}

// What the dashboard shows while a disk is kept: whose it is, what it holds
// and when it goes.
TEST_F(RetentionTest, AKeptDiskIsListedWithItsOwnerUseAndDeadline) {
  make();
  Binding a = must_bind({.isid = 3, .peer = "198.51.100.9"});
  write_marker(a, 0x5a);
  end(a, SessionEnd::dropped);
  clock_.advance(std::chrono::seconds(5));
  auto kept = directory_->retained();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].key.peer_address, "198.51.100.9");
  EXPECT_EQ(kept[0].key.isid[5], 3);
  EXPECT_EQ(kept[0].key.target_name, blank_target());
  EXPECT_EQ(kept[0].usage.bytes, 512u);
  EXPECT_EQ(kept[0].usage.limit, kDisk);
  EXPECT_EQ(kept[0].deadline - clock_.steady_now(), std::chrono::seconds(15));
  Binding b = must_bind({.isid = 3, .peer = "198.51.100.9"});
  EXPECT_TRUE(directory_->retained().empty());
}

TEST_F(RetentionTest, EachWayOfDroppingIsRetainedButShutdownIsNot) {
  make();
  for (SessionEnd how : {SessionEnd::dropped, SessionEnd::reinstated, SessionEnd::reset}) {
    Binding a = must_bind({});
    write_marker(a, 0x11);
    end(a, how);
    EXPECT_EQ(directory_->retained_count(), 1u) << iscsi::to_string(how);
    Binding b = must_bind({});
    EXPECT_EQ(read_marker(b), 0x11) << iscsi::to_string(how);
    end(b, SessionEnd::logout);
  }
  Binding a = must_bind({});
  write_marker(a, 0x22);
  end(a, SessionEnd::shutdown);
  EXPECT_EQ(directory_->retained_count(), 0u);
  EXPECT_EQ(overlay_files(), 0u);
}

TEST_F(RetentionTest, AfterTheGracePeriodTheDiskIsFreshAndTheFilesAreGone) {
  make();
  Binding a = must_bind({});
  write_marker(a, 0x5a);
  const uint64_t old_naa = unit(a).identity().naa_id;
  end(a, SessionEnd::dropped);
  ASSERT_GT(overlay_files(), 0u);

  clock_.advance(std::chrono::seconds(20));
  EXPECT_EQ(directory_->expire_retained(), 1u);  // the server's timer
  EXPECT_EQ(overlay_files(), 0u);
  Binding b = must_bind({});
  EXPECT_EQ(read_marker(b), 0);
  EXPECT_NE(unit(b).identity().naa_id, old_naa);
}

TEST_F(RetentionTest, ALoginAfterTheGracePeriodExpiresWithoutTheTimer) {
  make();
  Binding a = must_bind({});
  write_marker(a, 0x5a);
  end(a, SessionEnd::dropped);
  clock_.advance(std::chrono::seconds(21));
  Binding b = must_bind({});  // bind() expires first
  EXPECT_EQ(read_marker(b), 0);
  EXPECT_EQ(directory_->retained_count(), 0u);
}

TEST_F(RetentionTest, LogoutDeletesAtOnce) {
  make();
  Binding a = must_bind({});
  write_marker(a, 0x5a);
  ASSERT_GT(overlay_files(), 0u);
  end(a, SessionEnd::logout);
  EXPECT_EQ(directory_->retained_count(), 0u);
  EXPECT_EQ(overlay_files(), 0u);
  EXPECT_EQ(read_marker(must_bind({})), 0);
}

TEST_F(RetentionTest, AnotherIsidOrAddressGetsAFreshDisk) {
  make();
  Binding a = must_bind({.isid = 1, .peer = "2001:db8:1:2::a", .group = "2001:db8:1:2::/64"});
  write_marker(a, 0x5a);
  end(a, SessionEnd::dropped);

  Binding other_isid = must_bind({.isid = 2, .peer = "2001:db8:1:2::a", .group = "2001:db8:1:2::/64"});
  EXPECT_EQ(read_marker(other_isid), 0);
  // Same group, same ISID, another address: a neighbour, not the initiator.
  Binding neighbour = must_bind({.isid = 1, .peer = "2001:db8:1:2::b", .group = "2001:db8:1:2::/64"});
  EXPECT_EQ(read_marker(neighbour), 0);
  EXPECT_EQ(directory_->retained_count(), 1u);
  // The initiator itself still gets its disk.
  Binding back = must_bind({.isid = 1, .peer = "2001:db8:1:2::a", .group = "2001:db8:1:2::/64"});
  EXPECT_EQ(read_marker(back), 0x5a);
}

TEST_F(RetentionTest, RetainedBytesStayInTheAddressBudget) {
  make(std::chrono::seconds(20), 2 * kDisk);  // two disks per address
  Binding a = must_bind({.isid = 1});
  Binding b = must_bind({.isid = 2});
  end(a, SessionEnd::dropped);
  // Dropping and logging in with another ISID does not get a third disk.
  auto c = bind({.isid = 3});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().status_class, iscsi::login_status::kTargetError);
  EXPECT_EQ(c.error().status_detail, iscsi::login_status::kOutOfResources);
  EXPECT_EQ(events_.count(Limit::free_overlay_per_ip), 1u);
  // The reinstating login takes its own reservation back (no second one).
  Binding again = must_bind({.isid = 1});
  end(again, SessionEnd::dropped);
  // After the grace period the budget is free again.
  clock_.advance(std::chrono::seconds(20));
  EXPECT_TRUE(bind({.isid = 3}).ok());
}

TEST_F(RetentionTest, ALoginThatReinstatesALiveSessionIsToldToRetryThenGetsTheDisk) {
  make();
  // The new login may arrive before the old connection is noticed dead: the
  // registry ends the old session, but its binding is still attached.
  Binding old = must_bind({});
  write_marker(old, 0x5a);
  auto early = bind({});
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().status_class, iscsi::login_status::kTargetError);
  EXPECT_EQ(early.error().status_detail, iscsi::login_status::kServiceUnavailable);
  EXPECT_EQ(read_marker(old), 0x5a);  // the refused login took nothing
  end(old, SessionEnd::reinstated);   // the old connection closes
  Binding retry = must_bind({});
  EXPECT_EQ(read_marker(retry), 0x5a);
}

TEST_F(RetentionTest, ARetainedDiskIsHandedOverAtMostOnce) {
  make();
  Binding a = must_bind({});
  write_marker(a, 0x5a);
  end(a, SessionEnd::dropped);
  Binding first = must_bind({});
  EXPECT_EQ(read_marker(first), 0x5a);
  EXPECT_FALSE(bind({}).ok());  // a second login of the nexus while the first holds it
  end(first, SessionEnd::logout);
  EXPECT_EQ(read_marker(must_bind({})), 0);
}

TEST_F(RetentionTest, ZeroSecondsTurnsRetentionOff) {
  make(std::chrono::seconds(0));
  Binding a = must_bind({});
  write_marker(a, 0x5a);
  end(a, SessionEnd::dropped);
  EXPECT_EQ(directory_->retained_count(), 0u);
  EXPECT_EQ(overlay_files(), 0u);
  Binding b = must_bind({});
  EXPECT_EQ(read_marker(b), 0);
  // As before retention existed: a second session of one nexus is not refused.
  EXPECT_TRUE(bind({}).ok());
}

TEST_F(RetentionTest, ShutdownDeletesWhatIsRetained) {
  make();
  Binding a = must_bind({.isid = 1});
  Binding b = must_bind({.isid = 2});
  write_marker(a, 1);
  write_marker(b, 2);
  const size_t files = overlay_files();
  end(a, SessionEnd::dropped);
  end(b, SessionEnd::reinstated);
  EXPECT_EQ(overlay_files(), files);
  EXPECT_EQ(directory_->release_retained(), 2u);
  EXPECT_EQ(overlay_files(), 0u);
}

}  // namespace
}  // namespace scsipub::control
