// Provisioned disks as the control layer sees them: tier limits, persistence
// across a new ProvisionedDisks over the same directory and database (a
// restart), deletion, expiry, and the TargetDirectory's disk targets: CHAP
// lookups, shared logical units, session limits, SendTargets by account.
#include "control/provisioned_disks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "control/catalog.h"
#include "control/fixed_clock_random.h"
#include "control/disk_service_impl.h"
#include "control/target_directory.h"
#include "control/target_names.h"
#include "db/sqlite_store.h"
#include "db/tokens.h"
#include "iscsi/chap.h"
#include "iscsi/session_registry.h"
#include "iscsi/text_keys.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using scsipub::testing::TempDir;
using scsipub::testing::write_file;

constexpr uint64_t kImageBytes = 1 << 20;

class ProvisionedTest : public ::testing::Test {
 protected:
  // First, so they outlive everything built on them.
  scsipub::testing::FixedClock clock_;
  scsipub::testing::SeededRandom random_;

  ProvisionedTest() {
    std::filesystem::create_directories(tmp_.path() / "images");
    std::vector<uint8_t> image(kImageBytes);
    for (size_t i = 0; i < image.size(); ++i) image[i] = uint8_t(i * 7 + 1);
    write_file(tmp_.path() / "images" / "test.img", image);
    std::map<std::string, Tier, std::less<>> tiers;
    Tier small;
    small.max_disks = 2;
    small.max_luns_per_disk = 2;
    small.blank_size = 2 << 20;
    small.max_disk_size = 4 << 20;
    small.max_sessions_per_disk = 2;
    tiers.emplace("small", small);
    Tier tiny = small;
    tiny.max_disk_size = 1 << 20;
    tiny.blank_size = 1 << 20;
    tiny.expiry = std::chrono::seconds(60);
    tiers.emplace("tiny", tiny);
    tiers_ = Tiers(std::move(tiers));
    open();
  }

  // (Re)opens everything over the same files, like a process start.
  // `open_at_load` false: a fleet node; `storage` null: local overlay files.
  void open(bool open_at_load = true, std::shared_ptr<DiskStorage> storage = nullptr) {
    service_.reset();
    directory_.reset();
    disks_.reset();
    store_.reset();
    catalog_ = std::make_unique<Catalog>(tmp_.path() / "images");
    ASSERT_TRUE(catalog_->rescan());
    auto store = db::SqliteStore::open(tmp_.path());
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store).value();
    DirectoryConfig dcfg;
    dcfg.overlay_dir = tmp_.path() / "overlays";
    dcfg.chap_throttle.per_user = 3;
    dcfg.limit_events = &events_;
    directory_ = std::make_unique<TargetDirectory>(dcfg, *catalog_, local_placement(), clock_, random_);
    disks_ = std::make_unique<ProvisionedDisks>(
        ProvisionedConfig{tmp_.path() / "disks", std::move(storage), open_at_load}, *store_, tiers_,
        [this](const std::string& image) { return directory_->image_base(image); },
        [this](std::string_view target) { terminated_.emplace_back(target); }, clock_, random_);
    ASSERT_TRUE(disks_->load());
    directory_->attach_provisioned(disks_.get());
    service_ = std::make_unique<DiskServiceImpl>(*store_, *disks_, *catalog_, registry_, Portals{"192.0.2.1:3260", ""},
                                                 64 << 20);
  }

  db::Account account(const std::string& id, const std::string& tier = "small") {
    db::Account a{id, tier, std::string(64, id[0]), std::chrono::sys_seconds(std::chrono::seconds(1700000000))};
    EXPECT_TRUE(store_->create_account(a));
    return a;
  }

  std::shared_ptr<ProvisionedDisk> create(const db::Account& a, std::vector<std::string> images) {
    auto d = disks_->create(a, images);
    EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
    return d.ok() ? d.value() : nullptr;
  }

  static lu::Nexus nexus(uint64_t id, const std::string& target) {
    lu::Nexus n;
    n.id = id;
    n.initiator_name = "iqn.2025-01.test:node" + std::to_string(id);
    n.target_name = target;
    return n;
  }

  TempDir tmp_;
  LimitEvents events_;
  Tiers tiers_;
  iscsi::SessionRegistry registry_;
  std::vector<std::string> terminated_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<db::MetaStore> store_;
  std::unique_ptr<TargetDirectory> directory_;
  std::unique_ptr<ProvisionedDisks> disks_;
  std::unique_ptr<DiskServiceImpl> service_;
};

TEST_F(ProvisionedTest, CreatesOneSharedUnitPerImageWithStoredRecord) {
  auto a = account("a1");
  auto disk = create(a, {"blank", "test"});
  ASSERT_TRUE(disk);
  ASSERT_EQ(disk->units().size(), 2u);
  EXPECT_EQ(disk->units()[0].size_bytes, 2u << 20);  // the tier's blank_size
  EXPECT_EQ(disk->units()[1].size_bytes, kImageBytes);
  auto rec = store_->get_disk(disk->record().id);
  ASSERT_TRUE(rec.ok() && rec.value());
  EXPECT_EQ(rec.value()->luns, (std::vector<std::string>{"blank", "test"}));
  EXPECT_GE(rec.value()->chap_secret.size(), iscsi::kChapMinSecretLength);
  ASSERT_TRUE(rec.value()->mutual_secret);
  EXPECT_NE(*rec.value()->mutual_secret, rec.value()->chap_secret);
  EXPECT_TRUE(std::filesystem::exists(provisioned_overlay_path(disk->dir(), 1)));
}

TEST_F(ProvisionedTest, EnforcesTierLimits) {
  auto a = account("a1");
  auto too_many_luns = disks_->create(a, {"blank", "blank", "blank"});
  ASSERT_FALSE(too_many_luns.ok());
  EXPECT_EQ(too_many_luns.error().code, ServiceErrc::limit_exceeded);
  auto unknown = disks_->create(a, {"nope"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ServiceErrc::bad_request);
  ASSERT_TRUE(create(a, {"blank"}));
  ASSERT_TRUE(create(a, {"test"}));
  auto third = disks_->create(a, {"blank"});
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, ServiceErrc::limit_exceeded);
  // Another account has its own quota.
  EXPECT_TRUE(create(account("b2"), {"blank"}));
}

TEST_F(ProvisionedTest, DataAndBlankSizeSurviveARestart) {
  auto a = account("a1");
  auto disk = create(a, {"blank", "test"});
  ASSERT_TRUE(disk);
  std::string id = disk->record().id;
  std::vector<uint8_t> pattern(4096, 0xab);
  ASSERT_EQ(disk->units()[0].lu->store().write(8, pattern), storage::IoStatus::ok);
  ASSERT_EQ(disk->units()[1].lu->store().write(0, pattern), storage::IoStatus::ok);
  ASSERT_EQ(disk->units()[0].lu->store().flush(), storage::IoStatus::ok);
  ASSERT_EQ(disk->units()[1].lu->store().flush(), storage::IoStatus::ok);
  ASSERT_TRUE(disks_->mark_clean_shutdown());
  disk.reset();
  // A changed tier must not resize an existing blank LUN.
  tiers_ = Tiers({{"small", Tier{}}});
  open();
  EXPECT_TRUE(disks_->previous_shutdown_clean());
  auto again = disks_->find(id);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->units()[0].size_bytes, 2u << 20);
  std::vector<uint8_t> got(4096);
  ASSERT_EQ(again->units()[0].lu->store().read(8, got), storage::IoStatus::ok);
  EXPECT_EQ(got, pattern);
  ASSERT_EQ(again->units()[1].lu->store().read(0, got), storage::IoStatus::ok);
  EXPECT_EQ(got, pattern);
  // Beyond what was written, LUN 1 still reads the image.
  ASSERT_EQ(again->units()[1].lu->store().read(8, got), storage::IoStatus::ok);
  EXPECT_EQ(got[0], uint8_t(4096 * 7 + 1));
  // No clean-shutdown mark this time.
  again.reset();
  open();
  EXPECT_FALSE(disks_->previous_shutdown_clean());
}

TEST_F(ProvisionedTest, RemoveEndsSessionsAndDeletesFilesAfterTheLastSession) {
  auto a = account("a1");
  auto disk = create(a, {"blank"});
  ASSERT_TRUE(disk);
  std::string id = disk->record().id;
  std::string target = disk_target(id);
  auto dir = disk->dir();
  disk.reset();
  auto bound = directory_->bind(target, nexus(1, target), {});
  ASSERT_TRUE(bound.ok());
  auto removed = disks_->remove(id);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed.value());
  EXPECT_EQ(terminated_, std::vector<std::string>{target});
  EXPECT_FALSE(disks_->find(id));
  EXPECT_FALSE(store_->get_disk(id).value());
  EXPECT_TRUE(std::filesystem::exists(dir));  // the session still holds it
  bound.value().reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_FALSE(directory_->find(target, {}, {}));
  auto missing = disks_->remove(id);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing.value());
}

TEST_F(ProvisionedTest, ExpiredDisksAreRemoved) {
  auto a = account("t1", "tiny");
  auto disk = create(a, {"blank"});
  ASSERT_TRUE(disk && disk->record().expires);
  std::string id = disk->record().id;
  auto created = disk->record().created;
  disk.reset();
  EXPECT_EQ(disks_->remove_expired(created + std::chrono::seconds(59)), 0u);
  EXPECT_EQ(disks_->remove_expired(created + std::chrono::seconds(60)), 1u);
  EXPECT_FALSE(disks_->find(id));
}

// The injected clock dates the record: exactly its time, and expiry one
// tier expiry later, whatever the wall clock says.
TEST_F(ProvisionedTest, CreationAndExpiryAreDatedByTheInjectedClock) {
  clock_.advance(std::chrono::seconds(3600));
  auto disk = create(account("t1", "tiny"), {"blank"});
  ASSERT_TRUE(disk && disk->record().expires);
  const auto now = std::chrono::floor<std::chrono::seconds>(clock_.wall_now());
  EXPECT_EQ(disk->record().created, now);
  EXPECT_EQ(*disk->record().expires, now + std::chrono::seconds(60));
  auto stored = store_->get_disk(disk->record().id);
  ASSERT_TRUE(stored.ok() && stored.value());
  EXPECT_EQ(stored.value()->created, now);
  const std::string id = disk->record().id;
  disk.reset();
  EXPECT_EQ(disks_->remove_expired(now + std::chrono::seconds(59)), 0u);
  EXPECT_EQ(disks_->remove_expired(now + std::chrono::seconds(60)), 1u);
  EXPECT_FALSE(disks_->find(id));
}

TEST_F(ProvisionedTest, SessionsShareUnitsUpToTheTierLimit) {
  auto disk = create(account("a1"), {"blank", "test"});
  ASSERT_TRUE(disk);
  std::string target = disk_target(disk->record().id);
  auto found = directory_->find(target, {}, {});
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->requires_auth);
  auto s1 = directory_->bind(target, nexus(1, target), {});
  auto s2 = directory_->bind(target, nexus(2, target), {});
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_EQ(s1.value()->luns().find(0), s2.value()->luns().find(0));
  EXPECT_EQ(s1.value()->luns().luns().size(), 2u);
  EXPECT_EQ(disk->units()[0].lu->attached_count(), 2u);
  auto s3 = directory_->bind(target, nexus(3, target), {});
  ASSERT_FALSE(s3.ok());
  EXPECT_EQ(s3.error().status_class, iscsi::login_status::kTargetError);
  s1.value().reset();
  EXPECT_EQ(disk->units()[0].lu->attached_count(), 1u);
  EXPECT_TRUE(directory_->bind(target, nexus(4, target), {}).ok());
}

TEST_F(ProvisionedTest, SendTargetsShowsDisksOnlyToTheirAccount) {
  auto d1 = create(account("a1"), {"blank"});
  auto d2 = create(account("b2"), {"blank"});
  ASSERT_TRUE(d1 && d2);
  iscsi::PortalInfo portal{"127.0.0.1", 3260, "127.0.0.1", 40000, false};
  auto names = [](const std::vector<iscsi::SendTargetsEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.name);
    return out;
  };
  auto anonymous = names(directory_->send_targets("All", "", "", portal));
  EXPECT_EQ(std::count(anonymous.begin(), anonymous.end(), disk_target(d1->record().id)), 0);
  EXPECT_EQ(std::count(anonymous.begin(), anonymous.end(), blank_target()), 1);
  auto a1 = names(directory_->send_targets("All", "", d1->record().chap_user, portal));
  EXPECT_EQ(a1, std::vector<std::string>{disk_target(d1->record().id)});
  EXPECT_TRUE(directory_->send_targets(disk_target(d2->record().id), "", d1->record().chap_user, portal).empty());
  EXPECT_TRUE(directory_->send_targets(disk_target(d1->record().id), "", "", portal).empty());
}

// Drives the target's CHAP for one login: returns the outcome of the response step.
iscsi::Authenticator::Outcome chap_login(iscsi::Authenticator& auth, const std::string& user,
                                         const std::string& secret) {
  using Outcome = iscsi::Authenticator::Outcome;
  iscsi::TextWriter w;
  std::vector<iscsi::KeyValue> a{{"CHAP_A", "5"}};
  if (auth.step(a, w) != Outcome::in_progress) return Outcome::failure;
  auto parsed = iscsi::parse_text(w.bytes());
  uint8_t id = 0;
  std::vector<uint8_t> challenge;
  for (const auto& kv : parsed.pairs) {
    if (kv.key == "CHAP_I") id = uint8_t(std::stoi(kv.value));
    if (kv.key == "CHAP_C") challenge = *iscsi::decode_chap_binary(kv.value, 1024);
  }
  auto md5 = iscsi::chap_md5_response(id, secret, challenge);
  iscsi::TextWriter w2;
  std::vector<iscsi::KeyValue> r{{"CHAP_N", user}, {"CHAP_R", iscsi::encode_chap_hex(*md5)}};
  return auth.step(r, w2);
}

TEST_F(ProvisionedTest, ChapAcceptsOnlyTheDisksOwnCredentialsAndThrottles) {
  using Outcome = iscsi::Authenticator::Outcome;
  auto d1 = create(account("a1"), {"blank"});
  auto d2 = create(account("b2"), {"blank"});
  ASSERT_TRUE(d1 && d2);
  iscsi::PortalInfo portal{"127.0.0.1", 3260, "192.0.2.9", 40000, false};
  iscsi::LoginTarget t1{disk_target(d1->record().id), "", true};
  const auto& r1 = d1->record();
  const auto& r2 = d2->record();

  auto ok = directory_->authenticator("CHAP", t1, "iqn.x", portal);
  ASSERT_TRUE(ok);
  EXPECT_EQ(chap_login(*ok, r1.chap_user, r1.chap_secret), Outcome::success);
  EXPECT_EQ(ok->identity(), r1.chap_user);
  // Discovery: any disk's credentials, identity = that user.
  auto disc = directory_->authenticator("CHAP", iscsi::LoginTarget{}, "iqn.x", portal);
  ASSERT_TRUE(disc);
  EXPECT_EQ(chap_login(*disc, r2.chap_user, r2.chap_secret), Outcome::success);
  EXPECT_FALSE(directory_->authenticator("None", t1, "iqn.x", portal));

  // Disk 2's credentials do not open disk 1; three failures close the door.
  for (int i = 0; i < 2; ++i) {
    auto bad = directory_->authenticator("CHAP", t1, "iqn.x", portal);
    ASSERT_TRUE(bad);
    EXPECT_EQ(chap_login(*bad, r2.chap_user, r2.chap_secret), Outcome::failure);
  }
  auto wrong = directory_->authenticator("CHAP", t1, "iqn.x", portal);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(chap_login(*wrong, r1.chap_user, r1.chap_secret + "x"), Outcome::failure);
  EXPECT_FALSE(directory_->authenticator("CHAP", t1, "iqn.x", portal));
  // Another address is not affected.
  portal.peer_address = "192.0.2.10";
  EXPECT_TRUE(directory_->authenticator("CHAP", t1, "iqn.x", portal));
}

// Sends CHAP_A: the target answers with its challenge (the attempt counts now).
iscsi::Authenticator::Outcome chap_challenge(iscsi::Authenticator& auth) {
  iscsi::TextWriter w;
  std::vector<iscsi::KeyValue> a{{"CHAP_A", "5"}};
  return auth.step(a, w);
}

TEST_F(ProvisionedTest, ChapGuesserBehindANatDoesNotLockOutAnotherUser) {
  using Outcome = iscsi::Authenticator::Outcome;
  auto d1 = create(account("a1"), {"blank"});
  auto d2 = create(account("b2"), {"blank"});
  ASSERT_TRUE(d1 && d2);
  const auto& r1 = d1->record();
  const auto& r2 = d2->record();
  iscsi::LoginTarget t1{disk_target(r1.id), "", true};
  iscsi::LoginTarget t2{disk_target(r2.id), "", true};
  // Both behind one NAT address; the guesser goes for disk 1 (3 per minute here).
  iscsi::PortalInfo nat{"127.0.0.1", 3260, "203.0.113.5", 40000, false, "203.0.113.5"};
  for (int i = 0; i < 3; ++i) {
    auto guess = directory_->authenticator("CHAP", t1, "iqn.guesser", nat);
    ASSERT_TRUE(guess);
    EXPECT_EQ(chap_login(*guess, r1.chap_user, "wrong-guess-" + std::to_string(i)), Outcome::failure);
  }
  EXPECT_FALSE(directory_->authenticator("CHAP", t1, "iqn.guesser", nat));  // disk 1 locked here
  // Disk 2's owner, same address, right secret: in, again and again (success is refunded).
  for (int i = 0; i < 5; ++i) {
    auto payer = directory_->authenticator("CHAP", t2, "iqn.payer", nat);
    ASSERT_TRUE(payer);
    EXPECT_EQ(chap_login(*payer, r2.chap_user, r2.chap_secret), Outcome::success);
  }
  // Discovery: the user is known at CHAP_N; the locked one fails before any check.
  auto disc_ok = directory_->authenticator("CHAP", iscsi::LoginTarget{}, "iqn.payer", nat);
  ASSERT_TRUE(disc_ok);
  EXPECT_EQ(chap_login(*disc_ok, r2.chap_user, r2.chap_secret), Outcome::success);
  auto disc_locked = directory_->authenticator("CHAP", iscsi::LoginTarget{}, "iqn.x", nat);
  ASSERT_TRUE(disc_locked);
  EXPECT_EQ(chap_login(*disc_locked, r1.chap_user, r1.chap_secret), Outcome::failure);
}

TEST_F(ProvisionedTest, ChapAttemptsCountWhenTheChallengeIsSent) {
  using Outcome = iscsi::Authenticator::Outcome;
  auto d1 = create(account("a1"), {"blank"});
  ASSERT_TRUE(d1);
  const auto& r1 = d1->record();
  iscsi::LoginTarget t1{disk_target(r1.id), "", true};
  iscsi::PortalInfo portal{"127.0.0.1", 3260, "198.51.100.20", 40000, false, "198.51.100.20"};
  // Many exchanges opened at once, none answered yet: only 3 get a challenge.
  std::vector<std::unique_ptr<iscsi::Authenticator>> open;
  int challenged = 0;
  for (int i = 0; i < 64; ++i) {
    auto a = directory_->authenticator("CHAP", t1, "iqn.x", portal);
    if (!a) continue;
    if (chap_challenge(*a) == Outcome::in_progress) ++challenged;
    open.push_back(std::move(a));
  }
  EXPECT_EQ(challenged, 3);
  EXPECT_EQ(events_.count(Limit::chap_failures), 61u);  // refused before a challenge
  // Abandoned exchanges keep their charge: even the right secret waits out the minute.
  open.clear();
  EXPECT_FALSE(directory_->authenticator("CHAP", t1, "iqn.x", portal));

  // Discovery from another address: the pair is charged at CHAP_N, before verification.
  iscsi::PortalInfo other{"127.0.0.1", 3260, "198.51.100.21", 40000, false, "198.51.100.21"};
  std::vector<std::unique_ptr<iscsi::Authenticator>> discoveries;
  for (int i = 0; i < 10; ++i) {
    auto a = directory_->authenticator("CHAP", iscsi::LoginTarget{}, "iqn.x", other);
    ASSERT_TRUE(a);
    ASSERT_EQ(chap_challenge(*a), Outcome::in_progress);
    discoveries.push_back(std::move(a));
  }
  int verified_failures = 0;
  for (auto& a : discoveries) {
    iscsi::TextWriter w;
    std::vector<iscsi::KeyValue> r{{"CHAP_N", r1.chap_user}, {"CHAP_R", "0x" + std::string(32, '0')}};
    if (a->step(r, w) == Outcome::failure) ++verified_failures;
  }
  EXPECT_EQ(verified_failures, 10);  // every one fails, but only 3 were checked:
  EXPECT_EQ(events_.count(Limit::chap_failures), 62u + 7u);
  // the pair was locked after 3, so the right secret is refused too.
  auto right = directory_->authenticator("CHAP", iscsi::LoginTarget{}, "iqn.x", other);
  ASSERT_TRUE(right);
  EXPECT_EQ(chap_login(*right, r1.chap_user, r1.chap_secret), Outcome::failure);
}

TEST_F(ProvisionedTest, ServiceChecksTokensAndOwnership) {
  auto token = std::string(64, 'c');
  auto hash = db::hash_token(token);
  ASSERT_TRUE(hash.ok());
  ASSERT_TRUE(store_->create_account({"c3", "small", hash.value(), std::chrono::sys_seconds{}}));
  EXPECT_EQ(service_->authenticate("short").error().code, ServiceErrc::unauthorized);
  EXPECT_EQ(service_->authenticate(std::string(64, 'd')).error().code, ServiceErrc::unauthorized);
  auto caller = service_->authenticate(token);
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->account_id, "c3");
  auto made = service_->create_disk(caller.value(), {{"blank", "test"}});
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(made->target, disk_target(made->id));
  ASSERT_EQ(made->luns.size(), 2u);
  EXPECT_EQ(made->luns[1].image, "test");
  Caller other{"zz", "small"};
  EXPECT_EQ(service_->get_disk(other, made->id).error().code, ServiceErrc::not_found);
  EXPECT_EQ(service_->delete_disk(other, made->id).error().code, ServiceErrc::not_found);
  EXPECT_EQ(service_->list_disks(caller.value())->size(), 1u);
  EXPECT_TRUE(service_->delete_disk(caller.value(), made->id).ok());
  EXPECT_EQ(service_->get_disk(caller.value(), made->id).error().code, ServiceErrc::not_found);
  auto images = service_->images();
  ASSERT_EQ(images.size(), 2u);
  EXPECT_EQ(images[1].name, "test");
  EXPECT_EQ(images[1].presentation, Presentation::disk);
}

TEST_F(ProvisionedTest, ServiceImagesCarryThePresentation) {
  // An ISO is a DVD-ROM by default: the web layer gives QEMU a CD-ROM for it.
  write_file(tmp_.path() / "images" / "cd.iso", std::vector<uint8_t>(4096, 0));
  ASSERT_TRUE(catalog_->rescan());
  auto images = service_->images();
  ASSERT_EQ(images.size(), 3u);
  EXPECT_EQ(images[0].name, "blank");
  EXPECT_EQ(images[0].presentation, Presentation::disk);
  EXPECT_EQ(images[1].name, "cd");
  EXPECT_EQ(images[1].presentation, Presentation::dvd);
  EXPECT_EQ(images[2].name, "test");
  EXPECT_EQ(images[2].presentation, Presentation::disk);
}

}  // namespace
}  // namespace scsipub::control

namespace scsipub::control {
namespace {

// Local storage that counts what the registry asks of it, and can be told to
// fail a LUN creation.
class CountingStorage final : public DiskStorage {
 public:
  CountingStorage(std::filesystem::path dir, BaseLookup bases) : local_(std::move(dir), std::move(bases)) {}
  std::string_view kind() const override { return "counting"; }
  Result<LunStorage> create_lun(const LunSpec& spec) override {
    ++creates;
    if (fail_create_lun == static_cast<int>(spec.lun)) return fail("refused by the test");
    return local_.create_lun(spec);
  }
  Result<LunStorage> open_lun(const LunSpec& spec) override {
    ++opens;
    return local_.open_lun(spec);
  }
  Status remove_disk(std::string_view disk_id, uint32_t luns) override {
    ++removes;
    return local_.remove_disk(disk_id, luns);
  }
  int creates = 0, opens = 0, removes = 0;
  int fail_create_lun = -1;

 private:
  LocalDiskStorage local_;
};

class ProvisionedFleetTest : public ProvisionedTest {
 protected:
  std::shared_ptr<CountingStorage> counting() {
    return std::make_shared<CountingStorage>(tmp_.path() / "disks",
                                             [this](const std::string& image) { return directory_->image_base(image); });
  }
  // A one-LUN disk created here and let go of (open nowhere), by id.
  std::string stored_disk() {
    auto created = create(account("a1"), {"blank"});
    return created ? created->record().id : std::string();
  }
  // A disk with a pattern written to LUN 0 block 8 and flushed.
  std::string disk_with_data(const std::vector<uint8_t>& pattern) {
    auto disk = create(account("a1"), {"blank", "test"});
    EXPECT_TRUE(disk);
    if (!disk) return {};
    EXPECT_EQ(disk->units()[0].lu->store().write(8, pattern), storage::IoStatus::ok);
    EXPECT_EQ(disk->units()[0].lu->store().flush(), storage::IoStatus::ok);
    return disk->record().id;
  }
};

TEST_F(ProvisionedFleetTest, StorageIsCreatedOpenedAndRemovedOnlyThroughDiskStorage) {
  auto storage = counting();
  open(true, storage);
  auto disk = create(account("a1"), {"blank", "test"});
  ASSERT_TRUE(disk);
  EXPECT_EQ(storage->creates, 2);
  EXPECT_EQ(storage->opens, 0);
  const std::string id = disk->record().id;
  disk.reset();
  auto storage2 = counting();
  open(true, storage2);
  EXPECT_EQ(storage2->opens, 2);
  ASSERT_TRUE(disks_->remove(id).ok());
  EXPECT_EQ(storage2->removes, 1);
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "disks" / id));
}

TEST_F(ProvisionedFleetTest, AFailedCreationRemovesWhatWasCreated) {
  auto storage = counting();
  storage->fail_create_lun = 1;
  open(true, storage);
  auto failed = disks_->create(account("a1"), {"blank", "test"});
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("refused by the test"), std::string::npos) << failed.error().message;
  EXPECT_EQ(storage->removes, 1);
  EXPECT_TRUE(disks_->all().empty());
  EXPECT_TRUE(store_->list_disks().value().empty());
}

TEST_F(ProvisionedFleetTest, LoadKnowsEveryDiskButOpensNoneUntilOwned) {
  std::vector<uint8_t> pattern(4096, 0x5c);
  const std::string id = disk_with_data(pattern);
  ASSERT_FALSE(id.empty());
  auto storage = counting();
  open(false, storage);
  EXPECT_EQ(storage->opens, 0);
  auto known = disks_->find(id);
  ASSERT_TRUE(known);  // CHAP, SendTargets and tiers see it
  EXPECT_EQ(disks_->find_by_chap_user(known->record().chap_user), known);
  EXPECT_FALSE(disks_->is_open(id));
  EXPECT_FALSE(known->is_open());
  EXPECT_FALSE(known->try_add_session(10)) << "no session on a disk whose storage is not open here";
  disks_->flush_all();  // nothing open: nothing to flush, no crash

  ASSERT_TRUE(disks_->open_owned(id));
  EXPECT_EQ(storage->opens, 2);
  EXPECT_TRUE(disks_->is_open(id));
  ASSERT_TRUE(disks_->open_owned(id)) << "opening an open disk is a no-op";
  EXPECT_EQ(storage->opens, 2);
  auto opened = disks_->find(id);
  ASSERT_TRUE(opened && opened->is_open());
  std::vector<uint8_t> got(4096);
  ASSERT_EQ(opened->units()[0].lu->store().read(8, got), storage::IoStatus::ok);
  EXPECT_EQ(got, pattern);
  EXPECT_TRUE(opened->try_add_session(10));
  opened->remove_session();
  EXPECT_FALSE(disks_->open_owned("0000000000000000").ok());
}

TEST_F(ProvisionedFleetTest, CloseOwnedEndsSessionsAndTheDataIsThereOnReopen) {
  const std::string id = disk_with_data(std::vector<uint8_t>(512, 1));
  ASSERT_FALSE(id.empty());
  open(false);
  ASSERT_TRUE(disks_->open_owned(id));
  const std::string target = disk_target(id);
  auto bound = directory_->bind(target, nexus(1, target), {});
  ASSERT_TRUE(bound.ok()) << bound.error().message;
  auto held = disks_->find(id);
  std::vector<uint8_t> pattern(4096, 0x77);
  ASSERT_EQ(held->units()[0].lu->store().write(16, pattern), storage::IoStatus::ok);

  disks_->close_owned(id);
  EXPECT_EQ(terminated_, std::vector<std::string>{target});
  EXPECT_FALSE(disks_->is_open(id));
  EXPECT_FALSE(held->is_open());
  EXPECT_FALSE(held->try_add_session(10));
  EXPECT_TRUE(disks_->find(id)) << "the record stays known";
  EXPECT_FALSE(directory_->bind(target, nexus(2, target), {}).ok());
  disks_->close_owned(id);  // not open: no-op
  EXPECT_EQ(terminated_.size(), 1u);
  // The storage closes (flushing) once the last holder lets go.
  bound.value().reset();
  held.reset();
  ASSERT_TRUE(disks_->open_owned(id));
  std::vector<uint8_t> got(4096);
  ASSERT_EQ(disks_->find(id)->units()[0].lu->store().read(16, got), storage::IoStatus::ok);
  EXPECT_EQ(got, pattern);
}

TEST_F(ProvisionedFleetTest, RemovingADiskNotOpenHereRemovesItsStorage) {
  const std::string id = disk_with_data(std::vector<uint8_t>(512, 1));
  ASSERT_FALSE(id.empty());
  auto storage = counting();
  open(false, storage);
  ASSERT_TRUE(disks_->remove(id).ok());
  EXPECT_EQ(storage->removes, 1);
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "disks" / id));
  EXPECT_FALSE(disks_->find(id));
}

TEST_F(ProvisionedFleetTest, UnderALeaseEveryVerbStopsAtTheDeadline) {
  const std::string id = disk_with_data(std::vector<uint8_t>(512, 1));
  ASSERT_FALSE(id.empty());
  open(false);
  auto deadline = std::make_shared<storage::LeaseDeadline>();
  deadline->extend_to(storage::LeaseDeadline::Clock::now() + std::chrono::hours(1));
  OwnerLease lease;
  lease.deadline = deadline;
  ASSERT_TRUE(disks_->open_owned(id, lease));
  auto& store = disks_->find(id)->units()[0].lu->store();
  std::vector<uint8_t> pattern(4096, 0x3d);
  ASSERT_EQ(store.write(0, pattern), storage::IoStatus::ok);
  deadline->revoke();  // the keeper could not renew in time: NOT READY, retried after the reconnect
  EXPECT_EQ(store.write(0, pattern), storage::IoStatus::unavailable);
  EXPECT_EQ(store.read(0, pattern), storage::IoStatus::unavailable);
  EXPECT_EQ(store.flush(), storage::IoStatus::unavailable);
}

TEST_F(ProvisionedFleetTest, ADiskCreatedOnAFleetNodeWaitsForItsLease) {
  open(false);
  auto created = disks_->create(account("a1"), {"blank"});
  ASSERT_TRUE(created.ok()) << created.error().message;
  const std::string id = created.value()->record().id;
  EXPECT_FALSE(disks_->is_open(id)) << "served only once the keeper holds its lease";
  EXPECT_TRUE(disks_->find(id)) << "known for CHAP and SendTargets";
  created.value().reset();
  ASSERT_TRUE(disks_->open_owned(id));
  EXPECT_TRUE(disks_->is_open(id));
}

TEST_F(ProvisionedFleetTest, RecordsFromOtherNodesBecomeKnownAndDeletedOnesGo) {
  open(false);
  // Another node's registry over the same MetaStore creates a disk...
  const db::Account acct = account("a1");
  db::Disk record;
  record.id = "00000000000000aa";
  record.account_id = acct.id;
  record.luns = {"blank"};
  record.chap_user = "spother";
  record.chap_secret = "0123456789abcdef";
  ASSERT_TRUE(store_->create_disk(record));
  EXPECT_FALSE(disks_->find(record.id));
  // ...which this node learns from the keeper's periodic read of the records,
  disks_->sync_records(store_->list_disks().value());
  auto known = disks_->find(record.id);
  ASSERT_TRUE(known);
  EXPECT_EQ(disks_->find_by_chap_user("spother"), known);
  EXPECT_FALSE(disks_->is_open(record.id));
  // ...or at once when its lease comes here first.
  auto before = store_->list_disks().value();  // read before a disk is created here
  auto mine = disks_->create(acct, {"blank"});
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  disks_->sync_records(before);
  EXPECT_TRUE(disks_->find(mine.value()->record().id)) << "created since that read, not deleted";
  EXPECT_TRUE(terminated_.empty());
  ASSERT_TRUE(store_->delete_disk(record.id).value());
  disks_->sync_records(store_->list_disks().value());
  EXPECT_FALSE(disks_->find(record.id)) << "deleted on the other node";
  EXPECT_EQ(terminated_, std::vector<std::string>{disk_target(record.id)});
  record.id = "00000000000000bb";
  record.chap_user = "spthird";
  ASSERT_TRUE(store_->create_disk(record));
  EXPECT_FALSE(disks_->find(record.id));
  EXPECT_FALSE(disks_->open_owned(record.id).ok()) << "blank LUN storage was never created on this test's disk";
  EXPECT_TRUE(disks_->find(record.id)) << "open_owned read the record it did not know";
}

TEST_F(ProvisionedFleetTest, TheOwnerRemovesTheStorageOfADiskDeletedElsewhereOnceItsLastSessionLetsGo) {
  auto storage = counting();
  open(false, storage);
  const std::string id = stored_disk();
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(disks_->open_owned(id));
  auto session = disks_->find(id);
  ASSERT_TRUE(session && session->try_add_session(2));
  // Another node deletes the record; its own storage removal was refused
  // (shared storage open here). This node reads the records:
  ASSERT_TRUE(store_->delete_disk(id).value());
  disks_->sync_records(store_->list_disks().value());
  EXPECT_FALSE(disks_->find(id));
  EXPECT_EQ(terminated_, std::vector<std::string>{disk_target(id)});
  disks_->wait_removals();
  EXPECT_EQ(storage->removes, 0) << "a session still holds the disk";
  EXPECT_TRUE(std::filesystem::exists(tmp_.path() / "disks" / id));
  session->remove_session();
  session.reset();  // the session lets go
  disks_->wait_removals();
  EXPECT_EQ(storage->removes, 1);
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "disks" / id));
}

TEST_F(ProvisionedFleetTest, ADiskDeletedElsewhereAndNotOpenHereIsNotRemovedHere) {
  auto storage = counting();
  open(false, storage);
  const std::string id = stored_disk();
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(store_->delete_disk(id).value());
  disks_->sync_records(store_->list_disks().value());
  disks_->wait_removals();
  EXPECT_EQ(storage->removes, 0) << "whoever has it open (or the deleting node) removes it";
}

}  // namespace
}  // namespace scsipub::control
