// TargetDirectory with a fleet's placement: a disk another node serves is
// found as `moved` to that node's portal (its TLS portal for a TLS login),
// one nobody serves as `unavailable`, and SendTargets lists each disk at the
// portal that serves it. New free-tier sessions go where the placement says,
// except a login that reinstates a session whose disks are kept here; an
// initiator redirected before goes back to the same node while it is alive.
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "control/catalog.h"
#include "control/disk_placement.h"
#include "control/fake_placement.h"
#include "control/fixed_clock_random.h"
#include "control/provisioned_disks.h"
#include "control/target_directory.h"
#include "common/limit_events.h"
#include "control/target_names.h"
#include "db/sqlite_store.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using scsipub::testing::TempDir;
using scsipub::testing::FakePlacement;
using Where = iscsi::LoginTarget::Where;

const NodePortals kNodeA{"node-a", "192.0.2.10:3260", "192.0.2.10:3261"};
const NodePortals kNodeV6{"node-v6", "[2001:db8::5]:3270", ""};

class TargetPlacementTest : public ::testing::Test {
 protected:
  // First, so they outlive everything built on them.
  scsipub::testing::FixedClock clock_;
  scsipub::testing::SeededRandom random_;

  TargetPlacementTest() {
    std::filesystem::create_directories(tmp_.path() / "images");
    std::map<std::string, Tier, std::less<>> tiers;
    Tier small;
    small.max_disks = 4;
    small.blank_size = 1 << 20;
    small.max_disk_size = 1 << 20;
    tiers.emplace("small", small);
    tiers_ = Tiers(std::move(tiers));
    catalog_ = std::make_unique<Catalog>(tmp_.path() / "images");
    EXPECT_TRUE(catalog_->rescan());
    auto store = db::SqliteStore::open(tmp_.path());
    EXPECT_TRUE(store.ok());
    store_ = std::move(store).value();
    DirectoryConfig dcfg;
    dcfg.overlay_dir = tmp_.path() / "overlays";
    std::filesystem::create_directories(dcfg.overlay_dir);
    dcfg.public_host = "198.51.100.1";
    dcfg.portal_group = 1;
    dcfg.free_tier.blank_size = 1 << 20;
    directory_ = std::make_unique<TargetDirectory>(dcfg, *catalog_, placement_, clock_, random_);
    disks_ = std::make_unique<ProvisionedDisks>(
        ProvisionedConfig{tmp_.path() / "disks"}, *store_, tiers_,
        [this](const std::string& image) { return directory_->image_base(image); }, [](std::string_view) {},
        clock_, random_);
    EXPECT_TRUE(disks_->load());
    directory_->attach_provisioned(disks_.get());
    db::Account a{"acct", "small", std::string(64, 'a'), std::chrono::sys_seconds(std::chrono::seconds(1700000000))};
    EXPECT_TRUE(store_->create_account(a));
    for (int i = 0; i < 2; ++i) {
      auto d = disks_->create(a, {"blank"});
      EXPECT_TRUE(d.ok());
      if (d.ok()) {
        ids_.push_back(d.value()->record().id);
        chap_user_ = d.value()->record().chap_user;  // any disk's user names the account
      }
    }
  }

  // A free-tier session of `isid` bound here, as the session layer does.
  Result<std::unique_ptr<iscsi::TargetBinding>, iscsi::BindError> bind_here(uint64_t session_id, uint8_t isid) {
    lu::Nexus n;
    n.id = session_id;
    n.initiator_name = "iqn.2025-01.test:node";
    n.isid = {0x80, 0, 0, 0, 0, isid};
    n.target_name = blank_target();
    return directory_->bind(blank_target(), n, plain_);
  }

  // Ends a session as a dropped connection does (its disks are kept).
  static void drop(std::unique_ptr<iscsi::TargetBinding> binding) { binding->end(iscsi::SessionEnd::dropped); }

  std::optional<iscsi::LoginTarget> find(const std::string& target, const iscsi::PortalInfo& at, uint8_t isid = 1) {
    iscsi::LoginRequester who{"iqn.2025-01.test:node", {0x80, 0, 0, 0, 0, isid}};
    return directory_->find(target, who, at);
  }

  iscsi::PortalInfo plain_{"127.0.0.1", 3260, "198.51.100.7", 40000, false};
  iscsi::PortalInfo tls_{"127.0.0.1", 3261, "198.51.100.7", 40001, true};
  FakePlacement placement_;
  TempDir tmp_;
  Tiers tiers_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<db::MetaStore> store_;
  std::unique_ptr<TargetDirectory> directory_;
  std::unique_ptr<ProvisionedDisks> disks_;
  std::vector<std::string> ids_;
  std::string chap_user_;
};

TEST_F(TargetPlacementTest, DiskServedHereIsServed) {
  ASSERT_EQ(ids_.size(), 2u);
  auto t = find(disk_target(ids_[0]), plain_);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->where, Where::here);
  EXPECT_TRUE(t->target_address.empty());
}

TEST_F(TargetPlacementTest, DiskServedElsewhereMovesToTheOwnersPortal) {
  ASSERT_EQ(ids_.size(), 2u);
  placement_.elsewhere(std::array{ids_[0]}, kNodeA);
  placement_.elsewhere(std::array{ids_[1]}, kNodeV6);
  auto t = find(disk_target(ids_[0]), plain_);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->where, Where::moved);
  EXPECT_EQ(t->target_address, "192.0.2.10:3260,1");
  EXPECT_TRUE(t->requires_auth) << "still the disk's record: CHAP, kind";
  EXPECT_EQ(t->kind, "disk");
  auto v6 = find(disk_target(ids_[1]), plain_);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->target_address, "[2001:db8::5]:3270,1");
}

TEST_F(TargetPlacementTest, DiskThisNodeHasNotReadYetIsSentToItsOwner) {
  // Created through another node a moment ago: no record here yet, but the
  // lease table names its owner.
  const std::string id = "00000000000000ee";
  placement_.elsewhere(std::array{id}, kNodeA);
  auto t = find(disk_target(id), plain_);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->where, Where::moved);
  EXPECT_EQ(t->target_address, "192.0.2.10:3260,1");
  EXPECT_TRUE(t->requires_auth);
  placement_.disks[id] = Placement{Placement::Where::unavailable, {}};
  EXPECT_FALSE(find(disk_target(id), plain_)) << "nobody serves it and it is not known here: 02/03";
}

TEST_F(TargetPlacementTest, TlsLoginGoesToTheOwnersTlsPortalOrWaits) {
  ASSERT_EQ(ids_.size(), 2u);
  placement_.elsewhere(std::array{ids_[0]}, kNodeA);
  placement_.elsewhere(std::array{ids_[1]}, kNodeV6);
  auto t = find(disk_target(ids_[0]), tls_);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->where, Where::moved);
  EXPECT_EQ(t->target_address, "192.0.2.10:3261,1");
  // An owner without a TLS listener never gets a TLS login sent in plain text.
  auto v6 = find(disk_target(ids_[1]), tls_);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->where, Where::unavailable);
}

TEST_F(TargetPlacementTest, DiskNobodyServesIsUnavailable) {
  ASSERT_EQ(ids_.size(), 2u);
  placement_.disks[ids_[0]] = Placement{Placement::Where::unavailable, {}};
  auto t = find(disk_target(ids_[0]), plain_);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->where, Where::unavailable);
  EXPECT_FALSE(find(disk_target("no-such-disk"), plain_)) << "an unknown disk stays unknown (02/03)";
}

TEST_F(TargetPlacementTest, SendTargetsListsEachDiskAtThePortalThatServesIt) {
  ASSERT_EQ(ids_.size(), 2u);
  placement_.disks[ids_[0]] = Placement{Placement::Where::elsewhere, kNodeA};
  placement_.disks[ids_[1]] = Placement{Placement::Where::unavailable, {}};
  std::map<std::string, std::vector<std::string>> seen;
  for (auto& e : directory_->send_targets("All", "", chap_user_, plain_)) seen[e.name] = e.addresses;
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[disk_target(ids_[0])], std::vector<std::string>{"192.0.2.10:3260,1"});
  // Nobody serves it now: listed here, where the login is told to retry.
  EXPECT_EQ(seen[disk_target(ids_[1])], std::vector<std::string>{"198.51.100.1:3260,1"});
  for (auto& e : directory_->send_targets("All", "", chap_user_, tls_)) EXPECT_TRUE(e.addresses.empty());
  // Free-tier targets stay at this node's portal: their redirect is decided at login.
  placement_.free = kNodeA;
  for (auto& e : directory_->send_targets("All", "", "", plain_)) {
    EXPECT_EQ(e.addresses, std::vector<std::string>{"198.51.100.1:3260,1"}) << e.name;
  }
}

TEST_F(TargetPlacementTest, NewFreeTierSessionsGoWhereThePlacementSays) {
  auto here = find(blank_target(), plain_);
  ASSERT_TRUE(here);
  EXPECT_EQ(here->where, Where::here);
  placement_.free = kNodeV6;
  auto moved = find(blank_target(), plain_);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->where, Where::moved);
  EXPECT_EQ(moved->target_address, "[2001:db8::5]:3270,1");
  EXPECT_EQ(moved->kind, "blank");
}

TEST_F(TargetPlacementTest, ReinstatingFreeTierLoginStaysWithItsKeptDisk) {
  auto bound = bind_here(7, 1);
  ASSERT_TRUE(bound.ok());
  placement_.free = kNodeA;
  // While the session lives, and after its connection dropped (kept for a
  // reinstating login), the same nexus from the same address stays here.
  auto live = find(blank_target(), plain_, 1);
  ASSERT_TRUE(live);
  EXPECT_EQ(live->where, Where::here);
  drop(std::move(bound).value());
  ASSERT_EQ(directory_->retained_count(), 1u);
  auto kept = find(blank_target(), plain_, 1);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->where, Where::here);
  // Another ISID, or another address, is a new session: redirected.
  auto other = find(blank_target(), plain_, 2);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->where, Where::moved);
  iscsi::PortalInfo elsewhere = plain_;
  elsewhere.peer_address = "198.51.100.8";
  auto stranger = find(blank_target(), elsewhere, 1);
  ASSERT_TRUE(stranger);
  EXPECT_EQ(stranger->where, Where::moved);
}

TEST_F(TargetPlacementTest, RedirectedFreeTierInitiatorIsSentBackToTheSameNodeWhileItLives) {
  placement_.alive = {{"node-a", kNodeA}, {"node-v6", kNodeV6}};
  placement_.free = kNodeA;
  auto first = find(blank_target(), plain_, 1);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->where, Where::moved);
  EXPECT_EQ(first->target_address, "192.0.2.10:3260,1");
  // Back at its entry portal after a blip: this node is under its threshold
  // now, or another node is the least loaded; the initiator still goes to A.
  placement_.free.reset();
  auto below = find(blank_target(), plain_, 1);
  ASSERT_TRUE(below);
  EXPECT_EQ(below->where, Where::moved);
  EXPECT_EQ(below->target_address, "192.0.2.10:3260,1");
  placement_.free = kNodeV6;
  auto other_least = find(blank_target(), plain_, 1);
  ASSERT_TRUE(other_least);
  EXPECT_EQ(other_least->target_address, "192.0.2.10:3260,1");
  auto tls = find(blank_target(), tls_, 1);
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls->target_address, "192.0.2.10:3261,1") << "a TLS login goes to the same node's TLS portal";
  // Only that nexus from that address: another ISID is a new session.
  placement_.free.reset();
  auto new_isid = find(blank_target(), plain_, 2);
  ASSERT_TRUE(new_isid);
  EXPECT_EQ(new_isid->where, Where::here);
  // A is gone: decided afresh (to V6, remembered from now on) ...
  placement_.alive.erase("node-a");
  placement_.free = kNodeV6;
  auto afresh = find(blank_target(), plain_, 1);
  ASSERT_TRUE(afresh);
  EXPECT_EQ(afresh->target_address, "[2001:db8::5]:3270,1");
  placement_.free.reset();
  auto v6_again = find(blank_target(), plain_, 1);
  ASSERT_TRUE(v6_again);
  EXPECT_EQ(v6_again->target_address, "[2001:db8::5]:3270,1");
  // ... and once no node it was sent to lives, it is served here and forgotten.
  placement_.alive.clear();
  auto here = find(blank_target(), plain_, 1);
  ASSERT_TRUE(here);
  EXPECT_EQ(here->where, Where::here);
  placement_.alive = {{"node-v6", kNodeV6}};
  auto still_here = find(blank_target(), plain_, 1);
  ASSERT_TRUE(still_here);
  EXPECT_EQ(still_here->where, Where::here);
}

TEST_F(TargetPlacementTest, RememberedRedirectEndsAfterItsPeriod) {
  placement_.alive = {{"node-a", kNodeA}};
  placement_.free = kNodeA;
  ASSERT_EQ(find(blank_target(), plain_, 1)->where, Where::moved);
  placement_.free.reset();
  clock_.advance(std::chrono::hours(24) - std::chrono::seconds(1));
  EXPECT_EQ(find(blank_target(), plain_, 1)->where, Where::moved);  // re-redirected: the period restarts
  clock_.advance(std::chrono::hours(24) - std::chrono::seconds(1));
  EXPECT_EQ(find(blank_target(), plain_, 1)->where, Where::moved);
  clock_.advance(std::chrono::hours(24));
  EXPECT_EQ(find(blank_target(), plain_, 1)->where, Where::here);
}

TEST_F(TargetPlacementTest, DiskKeptHereWinsOverARememberedRedirect) {
  placement_.alive = {{"node-a", kNodeA}};
  placement_.free = kNodeA;
  ASSERT_EQ(find(blank_target(), plain_, 1)->where, Where::moved);
  // The same nexus got a session here meanwhile (A was briefly not alive,
  // say), which dropped: its kept disk is here, so the login stays.
  auto bound = bind_here(9, 1);
  ASSERT_TRUE(bound.ok());
  drop(std::move(bound).value());
  ASSERT_EQ(directory_->retained_count(), 1u);
  auto kept = find(blank_target(), plain_, 1);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->where, Where::here);
}

TEST_F(TargetPlacementTest, RedirectMemoryOverItsCapForgetsTheOldestAndCountsIt) {
  LimitEvents events;
  DirectoryConfig dcfg;
  dcfg.overlay_dir = tmp_.path() / "overlays";
  dcfg.free_tier.blank_size = 1 << 20;
  dcfg.free_redirects.max_entries = 2;
  dcfg.limit_events = &events;
  TargetDirectory capped(dcfg, *catalog_, placement_, clock_, random_);
  placement_.alive = {{"node-a", kNodeA}};
  placement_.free = kNodeA;
  iscsi::LoginRequester who{"iqn.2025-01.test:node", {0x80, 0, 0, 0, 0, 1}};
  for (uint8_t isid = 1; isid <= 3; ++isid) {
    who.isid[5] = isid;
    ASSERT_EQ(capped.find(blank_target(), who, plain_)->where, Where::moved);
  }
  EXPECT_EQ(events.count(Limit::free_redirect_memory), 1u);
  placement_.free.reset();
  who.isid[5] = 1;
  EXPECT_EQ(capped.find(blank_target(), who, plain_)->where, Where::here) << "the oldest was forgotten";
  who.isid[5] = 3;
  EXPECT_EQ(capped.find(blank_target(), who, plain_)->where, Where::moved);
}

}  // namespace
}  // namespace scsipub::control
