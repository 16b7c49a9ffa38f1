// A real initiator (libiscsi) follows a login redirect between two iSCSI
// servers in this process: node X answers 01/01 with node Y's TargetAddress
// (RFC 7143 11.13.5), libiscsi reconnects there, and the session lives on Y.
// A free-tier initiator whose connection to Y drops comes back to X (its
// entry portal) and is sent to Y again, where its disk was kept.
// The placement that says where things are is a fake here: the product binary
// has none but LocalPlacement (and the fleet's), so two in-process servers
// stand in for two nodes instead of a test-only option in `scsipub serve`.
#include <gtest/gtest.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "control/catalog.h"
#include "control/clock.h"
#include "control/disk_placement.h"
#include "control/fake_placement.h"
#include "control/provisioned_disks.h"
#include "control/random_source.h"
#include "control/target_directory.h"
#include "control/target_names.h"
#include "db/sqlite_store.h"
#include "iscsi/login_negotiator.h"
#include "iscsi/session_registry.h"
#include "iscsi/traffic_metrics.h"
#include "net/iscsi_server.h"
#include "storage/temp_dir.h"

namespace scsipub {
namespace {

using namespace std::chrono_literals;
using control::Placement;
using scsipub::testing::FakePlacement;

// One node: its own placement, directory, session table and listener.
struct Node {
  Node(control::Catalog& catalog, const std::filesystem::path& overlays, const control::Clock& clock,
       control::RandomSource& random) {
    control::DirectoryConfig dcfg;
    dcfg.overlay_dir = overlays;
    dcfg.free_tier.blank_size = 4 << 20;
    directory = std::make_unique<control::TargetDirectory>(dcfg, catalog, placement, clock, random);
  }
  void start() {
    net::ServerConfig cfg;
    cfg.listen_port = 0;
    cfg.threads = 1;
    cfg.storage_threads = 1;
    cfg.connection.traffic = &traffic;
    server = std::make_unique<net::IscsiServer>(std::move(cfg), *directory, registry);
    server->start();
  }
  std::string portal() const { return "127.0.0.1:" + std::to_string(server->port()); }
  uint64_t redirects(std::string_view kind) const {
    uint64_t n = 0;
    for (const auto& l : traffic.snapshot({}).logins) {
      if (l.kind == kind && l.status_class == iscsi::login_status::kRedirect) n += l.count;
    }
    return n;
  }
  ~Node() {
    if (server) server->shutdown(0ms);
  }

  FakePlacement placement;
  std::unique_ptr<control::TargetDirectory> directory;
  iscsi::SessionRegistry registry;
  iscsi::TrafficMetrics traffic;
  std::unique_ptr<net::IscsiServer> server;
};

// A libiscsi session, logged out and freed at scope exit.
class Client {
 public:
  explicit Client(const std::string& target) : ctx_(iscsi_create_context("iqn.2025-01.test.redirect:client")) {
    iscsi_set_targetname(ctx_, target.c_str());
    iscsi_set_session_type(ctx_, ISCSI_SESSION_NORMAL);
    iscsi_set_header_digest(ctx_, ISCSI_HEADER_DIGEST_NONE);
    iscsi_set_noautoreconnect(ctx_, 1);
    iscsi_set_timeout(ctx_, 10);
  }
  ~Client() {
    if (logged_in_) iscsi_logout_sync(ctx_);
    iscsi_destroy_context(ctx_);
  }
  // The same ISID for every client built with the same `qualifier`: a
  // reconnect of one initiator port (RFC 7143 6.3.5).
  void isid(uint32_t qualifier) { iscsi_set_isid_random(ctx_, 0x5ca1ab, qualifier); }
  // The connection goes without a Logout, as in a network blip.
  void drop() { logged_in_ = false; }
  void chap(const std::string& user, const std::string& secret) {
    iscsi_set_initiator_username_pwd(ctx_, user.c_str(), secret.c_str());
  }
  bool connect(const std::string& portal) {
    logged_in_ = iscsi_full_connect_sync(ctx_, portal.c_str(), 0) == 0;
    return logged_in_;
  }
  std::string error() const { return iscsi_get_error(ctx_); }
  // Writes one block at `lba` and reads it back.
  bool round_trip(uint64_t lba, uint8_t value) { return write(lba, value) && holds(lba, value); }
  // Writes one block of `value` at `lba`.
  bool write(uint64_t lba, uint8_t value) {
    std::array<uint8_t, 512> out{};
    out.fill(value);
    scsi_task* w = iscsi_write16_sync(ctx_, 0, lba, out.data(), out.size(), 512, 0, 0, 0, 0, 0);
    const bool wrote = w != nullptr && w->status == SCSI_STATUS_GOOD;
    if (w != nullptr) scsi_free_scsi_task(w);
    return wrote;
  }
  // True when the block at `lba` holds `value` throughout.
  bool holds(uint64_t lba, uint8_t value) {
    std::array<uint8_t, 512> want{};
    want.fill(value);
    scsi_task* r = iscsi_read16_sync(ctx_, 0, lba, 512, 512, 0, 0, 0, 0, 0);
    const bool read = r != nullptr && r->status == SCSI_STATUS_GOOD && r->datain.size == 512 &&
                      std::equal(want.begin(), want.end(), r->datain.data);
    if (r != nullptr) scsi_free_scsi_task(r);
    return read;
  }

 private:
  iscsi_context* ctx_;
  bool logged_in_ = false;
};

class LoginRedirectTest : public ::testing::Test {
 protected:
  LoginRedirectTest() {
    std::filesystem::create_directories(tmp_.path() / "images");
    std::filesystem::create_directories(tmp_.path() / "overlays-x");
    std::filesystem::create_directories(tmp_.path() / "overlays-y");
    catalog_ = std::make_unique<control::Catalog>(tmp_.path() / "images");
    EXPECT_TRUE(catalog_->rescan());
    x_ = std::make_unique<Node>(*catalog_, tmp_.path() / "overlays-x", clock_, random_);
    y_ = std::make_unique<Node>(*catalog_, tmp_.path() / "overlays-y", clock_, random_);
  }

  // Both nodes know every disk record (as a fleet's nodes do); Y serves them.
  void provision() {
    auto store = db::SqliteStore::open(tmp_.path());
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store).value();
    std::map<std::string, control::Tier, std::less<>> tiers;
    control::Tier small;
    small.blank_size = 4 << 20;
    small.max_disk_size = 4 << 20;
    tiers.emplace("small", small);
    tiers_ = control::Tiers(std::move(tiers));
    disks_ = std::make_unique<control::ProvisionedDisks>(
        control::ProvisionedConfig{tmp_.path() / "disks"}, *store_, tiers_,
        [this](const std::string& image) { return y_->directory->image_base(image); }, [](std::string_view) {},
        clock_, random_);
    ASSERT_TRUE(disks_->load());
    db::Account a{"acct", "small", std::string(64, 'a'), std::chrono::sys_seconds(std::chrono::seconds(1700000000))};
    ASSERT_TRUE(store_->create_account(a));
    auto d = disks_->create(a, {"blank"});
    ASSERT_TRUE(d.ok());
    disk_ = d.value()->record();
    x_->directory->attach_provisioned(disks_.get());
    y_->directory->attach_provisioned(disks_.get());
  }

  void start_both() {
    y_->start();
    x_->start();
  }

  control::SystemClock clock_;
  control::SystemRandom random_;
  scsipub::testing::TempDir tmp_;
  std::unique_ptr<control::Catalog> catalog_;
  std::unique_ptr<db::MetaStore> store_;
  control::Tiers tiers_;
  std::unique_ptr<control::ProvisionedDisks> disks_;
  db::Disk disk_;
  // The nodes go before the disks they attach to.
  std::unique_ptr<Node> x_;
  std::unique_ptr<Node> y_;
};

TEST_F(LoginRedirectTest, NewFreeTierSessionFollowsTheRedirectToTheLessLoadedNode) {
  start_both();
  x_->placement.free = control::NodePortals{"y", y_->portal(), ""};
  Client c(control::blank_target());
  ASSERT_TRUE(c.connect(x_->portal())) << c.error();
  EXPECT_TRUE(c.round_trip(8, 0x5a));
  EXPECT_EQ(y_->registry.size(), 1u) << "the session lives on Y";
  EXPECT_EQ(x_->registry.size(), 0u);
  EXPECT_EQ(x_->redirects("blank"), 1u);
  EXPECT_EQ(y_->redirects("blank"), 0u);
}

TEST_F(LoginRedirectTest, ChapLoginToADiskServedElsewhereAuthenticatesAtTheOwner) {
  provision();
  start_both();
  x_->placement.elsewhere(std::array{disk_.id}, {"y", y_->portal(), ""});
  Client c(control::disk_target(disk_.id));
  c.chap(disk_.chap_user, disk_.chap_secret);
  ASSERT_TRUE(c.connect(x_->portal())) << c.error();
  EXPECT_TRUE(c.round_trip(3, 0xa5));
  EXPECT_EQ(y_->registry.size(), 1u);
  EXPECT_EQ(x_->registry.size(), 0u);
  EXPECT_EQ(x_->redirects("disk"), 1u);
}

TEST_F(LoginRedirectTest, DiskNobodyServesIsRefusedForNowNotForever) {
  provision();
  start_both();
  x_->placement.disks[disk_.id] = Placement{Placement::Where::unavailable, {}};
  {
    Client c(control::disk_target(disk_.id));
    c.chap(disk_.chap_user, disk_.chap_secret);
    const auto started = std::chrono::steady_clock::now();
    EXPECT_FALSE(c.connect(x_->portal()));
    // Held back, so that initiators retrying at once (open-iscsi) are paced.
    EXPECT_GE(std::chrono::steady_clock::now() - started, 900ms);
    // libiscsi reports the login status as class << 8 | detail: 03/01 is 769.
    EXPECT_NE(c.error().find("(769)"), std::string::npos) << c.error();
    EXPECT_EQ(x_->registry.size(), 0u);
  }
  // The failover is over: the same login now lands on the new owner.
  x_->placement.elsewhere(std::array{disk_.id}, {"y", y_->portal(), ""});
  Client again(control::disk_target(disk_.id));
  again.chap(disk_.chap_user, disk_.chap_secret);
  ASSERT_TRUE(again.connect(x_->portal())) << again.error();
  EXPECT_EQ(y_->registry.size(), 1u);
}

// Polls `done` every 10 ms for up to `limit`.
template <class Done>
bool wait_for(Done done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// X (over its threshold) sends a free-tier initiator port to Y, which it
// sees alive; the initiator writes `value` at `lba` there and its connection
// drops without a Logout.
void redirect_write_and_drop(Node& x, Node& y, uint32_t isid, uint64_t lba, uint8_t value) {
  x.placement.free = control::NodePortals{"y", y.portal(), ""};
  x.placement.alive["y"] = control::NodePortals{"y", y.portal(), ""};
  Client c(control::blank_target());
  c.isid(isid);
  ASSERT_TRUE(c.connect(x.portal())) << c.error();
  ASSERT_TRUE(c.round_trip(lba, value));
  ASSERT_EQ(y.registry.size(), 1u);
  c.drop();
}

TEST_F(LoginRedirectTest, RedirectedFreeTierSessionFindsItsDiskAfterReconnectingToItsEntryNode) {
  start_both();
  ASSERT_NO_FATAL_FAILURE(redirect_write_and_drop(*x_, *y_, 7, 40, 0xc3));
  // Y keeps the disk for a reinstating login once it has seen the drop.
  ASSERT_TRUE(wait_for([&] { return y_->registry.size() == 0 && y_->directory->retained_count() == 1; }, 5s));
  // X is under its threshold now: a new initiator would be served on X, but
  // this one is sent back to Y, where its written block still is.
  x_->placement.free.reset();
  Client back(control::blank_target());
  back.isid(7);
  ASSERT_TRUE(back.connect(x_->portal())) << back.error();
  EXPECT_TRUE(back.holds(40, 0xc3)) << "the kept disk, not a fresh one";
  EXPECT_EQ(y_->registry.size(), 1u);
  EXPECT_EQ(x_->registry.size(), 0u);
  EXPECT_EQ(y_->directory->retained_count(), 0u) << "the login took the kept disk";
  EXPECT_EQ(x_->redirects("blank"), 2u);
  // Another initiator port is a new session: X serves it, on a fresh disk.
  Client other(control::blank_target());
  other.isid(8);
  ASSERT_TRUE(other.connect(x_->portal())) << other.error();
  EXPECT_TRUE(other.holds(40, 0x00));
  EXPECT_EQ(x_->registry.size(), 1u);
}

TEST_F(LoginRedirectTest, FreeTierInitiatorWhoseNodeIsGoneIsPlacedAfresh) {
  start_both();
  ASSERT_NO_FATAL_FAILURE(redirect_write_and_drop(*x_, *y_, 9, 41, 0x3c));
  ASSERT_TRUE(wait_for([&] { return y_->directory->retained_count() == 1; }, 5s));
  // The fleet no longer sees Y alive: X serves the reconnect itself (the
  // disk kept on Y is lost to it, as it would be with Y gone).
  x_->placement.free.reset();
  x_->placement.alive.clear();
  Client back(control::blank_target());
  back.isid(9);
  ASSERT_TRUE(back.connect(x_->portal())) << back.error();
  EXPECT_TRUE(back.holds(41, 0x00));
  EXPECT_EQ(x_->registry.size(), 1u);
  EXPECT_EQ(x_->redirects("blank"), 1u);
}

}  // namespace
}  // namespace scsipub
