// The operator dashboard's view of a real server's parts: sessions from the
// registry with their counters turned into rates, free-tier overlay use,
// refused logins, limit hits, disks without secrets, and the two actions.
#include "control/live_operator_console.h"

#include <gtest/gtest.h>

#include "control/catalog.h"
#include "control/fixed_clock_random.h"
#include "control/disk_service_impl.h"
#include "control/target_names.h"
#include "db/sqlite_store.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using namespace std::chrono_literals;
using scsipub::testing::TempDir;

class LiveConsoleTest : public ::testing::Test {
 protected:
  // First, so they outlive everything built on them.
  scsipub::testing::FixedClock clock_;
  scsipub::testing::SeededRandom random_;

  LiveConsoleTest() {
    std::filesystem::create_directories(tmp_.path() / "images");
    std::filesystem::create_directories(tmp_.path() / "overlays");
    catalog_ = std::make_unique<Catalog>(tmp_.path() / "images");
    EXPECT_TRUE(catalog_->rescan());
    store_ = std::move(db::SqliteStore::open(tmp_.path())).value();
    DirectoryConfig dcfg;
    dcfg.overlay_dir = tmp_.path() / "overlays";
    dcfg.free_tier.blank_size = 1 << 20;
    dcfg.free_tier.blank_write_limit = 256 << 10;
    directory_ = std::make_unique<TargetDirectory>(dcfg, *catalog_, local_placement(), clock_, random_);
    std::map<std::string, Tier, std::less<>> tiers;
    tiers.emplace("pro", Tier{});
    tiers_ = Tiers(std::move(tiers));
    disks_ = std::make_unique<ProvisionedDisks>(
        ProvisionedConfig{tmp_.path() / "disks"}, *store_, tiers_,
        [this](const std::string& image) { return directory_->image_base(image); }, [](std::string_view) {},
        clock_, random_);
    EXPECT_TRUE(disks_->load());
    directory_->attach_provisioned(disks_.get());
    service_ = std::make_unique<DiskServiceImpl>(*store_, *disks_, *catalog_, registry_, Portals{"192.0.2.1:3260", ""},
                                                 1 << 20);
    console_ = std::make_unique<LiveOperatorConsole>(LiveConsoleSources{
        registry_, *directory_, *disks_, *store_, *service_, journal_, events_,
        [](std::string_view token) { return token == "operator-secret"; }, clock_});
  }

  // A free-tier blank session as a login makes it: registered, then bound.
  uint64_t blank_session(std::vector<uint16_t>* ended = nullptr) {
    iscsi::NewSession s;
    s.key = {"iqn.2026-12.test:<b>x</b>", {0x80, 1, 2, 3, 4, 5}, blank_target()};
    s.peer_address = "192.0.2.7:40000";
    s.details.kind = "blank";
    s.details.tls = true;
    s.details.since = std::chrono::system_clock::now();
    s.details.counters = std::make_shared<iscsi::SessionCounters>();
    if (ended != nullptr) s.details.end = [ended](uint16_t secs) { ended->push_back(secs); };
    auto rec = registry_.admit(std::move(s), {}).record;
    lu::Nexus n;
    n.id = rec.id;
    n.initiator_name = rec.key.initiator_name;
    n.isid = rec.key.isid;
    n.target_name = rec.target_name;
    auto bound = directory_->bind(rec.target_name, n, iscsi::PortalInfo{});
    if (!bound.ok()) throw std::runtime_error("bind failed: " + bound.error().message);
    bindings_.push_back(std::move(bound).value());
    registry_.describe(rec.id, {0});
    counters_ = rec.details.counters;
    return rec.id;
  }

  TempDir tmp_;
  LimitEvents events_;
  iscsi::LoginJournal journal_;
  iscsi::SessionRegistry registry_;
  Tiers tiers_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<db::MetaStore> store_;
  std::unique_ptr<TargetDirectory> directory_;
  std::unique_ptr<ProvisionedDisks> disks_;
  std::unique_ptr<DiskServiceImpl> service_;
  std::unique_ptr<LiveOperatorConsole> console_;
  std::vector<std::unique_ptr<iscsi::TargetBinding>> bindings_;
  std::shared_ptr<iscsi::SessionCounters> counters_;
};

TEST_F(LiveConsoleTest, SessionsCarryIdentityOverlayUseAndRates) {
  uint64_t id = blank_session();
  auto t0 = LiveOperatorConsole::Clock::now();
  auto first = console_->sessions(t0);
  ASSERT_EQ(first.size(), 1u);
  const LiveSession& s = first[0];
  EXPECT_EQ(s.id, id);
  EXPECT_EQ(s.kind, "blank");
  EXPECT_EQ(s.target, blank_target());
  EXPECT_EQ(s.initiator_name, "iqn.2026-12.test:<b>x</b>");
  EXPECT_EQ(s.isid, "800102030405");
  EXPECT_TRUE(s.tls);
  EXPECT_EQ(s.luns, std::vector<uint32_t>{0});
  ASSERT_TRUE(s.overlay_bytes.has_value());
  EXPECT_EQ(*s.overlay_bytes, 0u);
  EXPECT_EQ(s.write_limit, std::optional<uint64_t>(256u << 10));
  EXPECT_EQ(s.read_iops, 0);

  for (int i = 0; i < 20; ++i) counters_->add_read(4096);
  counters_->add_write(512);
  // Sooner than the sampling interval: totals move, rates wait.
  auto early = console_->sessions(t0 + 100ms);
  EXPECT_EQ(early[0].read_commands, 20u);
  EXPECT_EQ(early[0].read_iops, 0);
  auto later = console_->sessions(t0 + 2s);
  EXPECT_DOUBLE_EQ(later[0].read_iops, 10.0);
  EXPECT_DOUBLE_EQ(later[0].read_bytes_per_second, 20.0 * 4096 / 2);
  EXPECT_DOUBLE_EQ(later[0].write_iops, 0.5);
}

TEST_F(LiveConsoleTest, EndSessionAsksTheSessionToLogOut) {
  std::vector<uint16_t> ended;
  uint64_t id = blank_session(&ended);
  ASSERT_TRUE(console_->end_session(id).ok());
  EXPECT_EQ(ended, std::vector<uint16_t>{LiveOperatorConsole::kLogoutSeconds});
  auto missing = console_->end_session(id + 100);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ServiceErrc::not_found);
}

TEST_F(LiveConsoleTest, SnapshotListsRefusalsLimitsDisksWithoutSecretsAndTheCatalog) {
  journal_.refused("192.0.2.9:1", "192.0.2.9", "iqn.x", "iqn.nope", "unknown target");
  events_.hit(Limit::sessions_per_ip, "192.0.2.9");
  db::Account a{"acct1", "pro", std::string(64, 'a'), std::chrono::sys_seconds(std::chrono::seconds(1700000000))};
  ASSERT_TRUE(store_->create_account(a));
  auto disk = disks_->create(a, {"blank"});
  ASSERT_TRUE(disk.ok());
  auto snap = console_->snapshot();
  EXPECT_EQ(snap.taken_at_ms, 1767225600000);  // the fixed clock's time, not the wall's
  ASSERT_EQ(snap.refused.size(), 1u);
  EXPECT_EQ(snap.refused[0].target_name, "iqn.nope");
  EXPECT_EQ(snap.limit_hits.size(), LimitEvents::kCount);
  bool counted = false;
  for (const auto& h : snap.limit_hits) counted = counted || (h.limit == "sessions_per_ip" && h.count == 1);
  EXPECT_TRUE(counted);
  ASSERT_EQ(snap.disks.size(), 1u);
  EXPECT_EQ(snap.disks[0].account_id, "acct1");
  EXPECT_EQ(snap.disks[0].tier, "pro");
  EXPECT_TRUE(snap.disks[0].disk.chap_secret.empty());
  EXPECT_FALSE(snap.disks[0].disk.mutual_secret.has_value());
  ASSERT_FALSE(snap.images.empty());
  EXPECT_EQ(snap.images[0].name, "blank");

  ASSERT_TRUE(console_->delete_disk(disk.value()->record().id).ok());
  EXPECT_TRUE(console_->snapshot().disks.empty());
  EXPECT_EQ(console_->delete_disk("nope").error().code, ServiceErrc::not_found);
}

// A free disk kept after a dropped connection is listed with the wall-clock
// time it will be deleted at (its deadline is on the steady clock).
TEST_F(LiveConsoleTest, KeptFreeDisksAreListedUntilTheirWallClockDeadline) {
  blank_session();
  bindings_.back()->end(iscsi::SessionEnd::dropped);
  bindings_.pop_back();
  clock_.advance(5s);
  auto snap = console_->snapshot();
  ASSERT_EQ(snap.retained.size(), 1u);
  EXPECT_EQ(snap.retained[0].initiator_name, "iqn.2026-12.test:<b>x</b>");
  EXPECT_EQ(snap.retained[0].isid, "800102030405");
  EXPECT_EQ(snap.retained[0].target, blank_target());
  EXPECT_EQ(snap.retained[0].until_ms, snap.taken_at_ms + 15000);
  EXPECT_EQ(snap.retained[0].write_limit, 256u << 10);
}

TEST_F(LiveConsoleTest, OperatorTokensAreCheckedByTheGivenFunction) {
  EXPECT_TRUE(console_->authenticate_operator("operator-secret"));
  EXPECT_FALSE(console_->authenticate_operator("guess"));
}

}  // namespace
}  // namespace scsipub::control
