// TargetDirectory limits a stranger meets: free-tier overlay bytes reserved
// per source address, and SendTargets over TLS (no TargetAddress, so the
// initiator stays inside its tunnel).
#include <gtest/gtest.h>

#include "common/limit_events.h"
#include "control/catalog.h"
#include "control/fixed_clock_random.h"
#include "control/target_directory.h"
#include "control/target_names.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using scsipub::testing::TempDir;

class DirectoryLimitsTest : public ::testing::Test {
 protected:
  // First, so they outlive everything built on them.
  scsipub::testing::FixedClock clock_;
  scsipub::testing::SeededRandom random_;

  void make(uint64_t per_ip, uint64_t total = 0) {
    std::filesystem::create_directories(tmp_.path() / "images");
    catalog_ = std::make_unique<Catalog>(tmp_.path() / "images");
    ASSERT_TRUE(catalog_->rescan());
    DirectoryConfig dcfg;
    dcfg.overlay_dir = tmp_.path() / "overlays";
    std::filesystem::create_directories(dcfg.overlay_dir);
    dcfg.free_tier.blank_size = 4u << 20;
    dcfg.free_tier.overlay_bytes_per_ip = per_ip;
    dcfg.free_tier.overlay_bytes_total = total;
    dcfg.limit_events = &events_;
    directory_ = std::make_unique<TargetDirectory>(dcfg, *catalog_, local_placement(), clock_, random_);
  }

  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind(uint64_t id, const std::string& peer,
                                                                       const std::string& group = "") {
    lu::Nexus n;
    n.id = id;
    n.initiator_name = "iqn.2025-01.test:node";
    n.isid[5] = static_cast<uint8_t>(id);  // one initiator, a session per ISID
    n.target_name = blank_target();
    iscsi::PortalInfo portal{"127.0.0.1", 3260, peer, static_cast<uint16_t>(40000 + id), false, group};
    return directory_->bind(blank_target(), n, portal);
  }

  TempDir tmp_;
  LimitEvents events_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<TargetDirectory> directory_;
};

TEST_F(DirectoryLimitsTest, FreeOverlayBytesPerAddressAreReservedAtLoginAndReturnedAtLogout) {
  make(8u << 20);  // two 4 MiB blank disks per address
  auto a = bind(1, "198.51.100.7");
  auto b = bind(2, "198.51.100.7");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  auto c = bind(3, "198.51.100.7");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().status_class, iscsi::login_status::kTargetError);
  EXPECT_EQ(c.error().status_detail, iscsi::login_status::kOutOfResources);
  EXPECT_EQ(events_.count(Limit::free_overlay_per_ip), 1u);
  // Another address has its own budget.
  EXPECT_TRUE(bind(4, "198.51.100.8").ok());
  // A logout returns the reservation.
  a.value().reset();
  EXPECT_TRUE(bind(5, "198.51.100.7").ok());
}

TEST_F(DirectoryLimitsTest, FreeOverlayBytesPerAddressCountPerAddressGroup) {
  make(8u << 20);
  // Three addresses of one IPv6 /64 share the group's budget (bindings hold it while alive).
  auto a = bind(1, "2001:db8:1:2::a", "2001:db8:1:2::/64");
  auto b = bind(2, "2001:db8:1:2::b", "2001:db8:1:2::/64");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(bind(3, "2001:db8:1:2::c", "2001:db8:1:2::/64").ok());
  EXPECT_EQ(events_.count(Limit::free_overlay_per_ip), 1u);
  EXPECT_TRUE(bind(4, "2001:db8:1:3::a", "2001:db8:1:3::/64").ok());
}

TEST_F(DirectoryLimitsTest, FreeOverlayBytesServerWideAreBudgetedAndReturnedAtLogout) {
  make(8u << 20, 12u << 20);  // three 4 MiB blank disks in all
  auto a = bind(1, "198.51.100.1");
  auto b = bind(2, "198.51.100.2");
  auto c = bind(3, "198.51.100.3");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  auto d = bind(4, "198.51.100.4");  // a fresh address: its own budget is untouched
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().status_class, iscsi::login_status::kTargetError);
  EXPECT_EQ(d.error().status_detail, iscsi::login_status::kOutOfResources);
  EXPECT_EQ(events_.count(Limit::free_overlay_total), 1u);
  EXPECT_EQ(events_.count(Limit::free_overlay_per_ip), 0u);
  // The refused login held nothing: after one logout exactly one more fits.
  a.value().reset();
  auto e = bind(5, "198.51.100.4");
  EXPECT_TRUE(e.ok());
  EXPECT_FALSE(bind(6, "198.51.100.5").ok());
  EXPECT_EQ(events_.count(Limit::free_overlay_total), 2u);
}

TEST_F(DirectoryLimitsTest, ZeroMeansNoOverlayLimit) {
  make(0);
  std::vector<std::unique_ptr<iscsi::TargetBinding>> held;
  for (uint64_t i = 1; i <= 8; ++i) {
    auto b = bind(i, "198.51.100.7");
    ASSERT_TRUE(b.ok());
    held.push_back(std::move(b).value());
  }
  EXPECT_EQ(events_.count(Limit::free_overlay_per_ip), 0u);
}

TEST_F(DirectoryLimitsTest, SendTargetsOverTlsOmitsTheAddress) {
  make(0);
  iscsi::PortalInfo plain{"127.0.0.1", 3260, "127.0.0.1", 40000, false};
  iscsi::PortalInfo tls = plain;
  tls.local_port = 3261;
  tls.tls = true;
  auto p = directory_->send_targets("All", "", "", plain);
  auto t = directory_->send_targets("All", "", "", tls);
  ASSERT_FALSE(p.empty());
  ASSERT_EQ(p.size(), t.size());
  EXPECT_EQ(p[0].addresses, std::vector<std::string>{"127.0.0.1:3260,1"});
  for (const auto& e : t) EXPECT_TRUE(e.addresses.empty()) << e.name;
}

}  // namespace
}  // namespace scsipub::control
