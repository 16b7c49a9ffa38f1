// The promise persistent reservations rest on, through the real control
// wiring (a provisioned disk's logical unit, whose reservations are stored
// in the MetaStore): a PR OUT is committed to the database before its status
// goes out. When the database refuses the write the command fails with
// CHECK CONDITION, HARDWARE ERROR / INTERNAL TARGET FAILURE (04/44/00), the
// logical unit keeps its old reservations, and no other nexus hears of a
// change that did not happen (no unit attention).
#include <gtest/gtest.h>

#include <vector>

#include "common/buffer.h"
#include "common/bytes.h"
#include "control/catalog.h"
#include "control/fixed_clock_random.h"
#include "control/provisioned_disks.h"
#include "control/target_directory.h"
#include "control/target_names.h"
#include "db/sqlite_store.h"
#include "scsi/command_set.h"
#include "scsi/sense_fields.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using scsi::testing::parse_sense;
using scsi::testing::SenseFields;
using scsipub::testing::TempDir;

// A SQLite MetaStore whose reservation writes fail while `fail_pr_writes`.
class PrWriteFailingStore final : public db::MetaStore {
 public:
  explicit PrWriteFailingStore(std::unique_ptr<db::MetaStore> inner) : inner_(std::move(inner)) {}

  bool fail_pr_writes = false;
  int pr_writes_refused = 0;

  Status save_pr_state(const db::LuKey& lu, const db::PrState& state) override {
    if (fail_pr_writes) {
      ++pr_writes_refused;
      return fail("disk full (test)");
    }
    return inner_->save_pr_state(lu, state);
  }
  Result<std::optional<db::PrState>> load_pr_state(const db::LuKey& lu) override { return inner_->load_pr_state(lu); }
  Result<bool> clear_pr_state(const db::LuKey& lu) override { return inner_->clear_pr_state(lu); }

  Result<int> schema_version() override { return inner_->schema_version(); }
  Status create_account(const db::Account& a) override { return inner_->create_account(a); }
  Result<std::optional<db::Account>> get_account(std::string_view id) override { return inner_->get_account(id); }
  Result<std::optional<db::Account>> get_account_by_token_hash(std::string_view h) override {
    return inner_->get_account_by_token_hash(h);
  }
  Result<std::vector<db::Account>> list_accounts() override { return inner_->list_accounts(); }
  Result<bool> delete_account(std::string_view id) override { return inner_->delete_account(id); }
  Result<bool> delete_account_by_token_hash(std::string_view h) override {
    return inner_->delete_account_by_token_hash(h);
  }
  Status create_disk(const db::Disk& d) override { return inner_->create_disk(d); }
  Result<std::optional<db::Disk>> get_disk(std::string_view id) override { return inner_->get_disk(id); }
  Result<std::optional<db::Disk>> find_disk_by_chap_user(std::string_view u) override {
    return inner_->find_disk_by_chap_user(u);
  }
  Result<std::vector<db::Disk>> list_disks_by_account(std::string_view a) override {
    return inner_->list_disks_by_account(a);
  }
  Result<std::vector<db::Disk>> list_disks() override { return inner_->list_disks(); }
  Result<bool> delete_disk(std::string_view id) override { return inner_->delete_disk(id); }
  Status create_operator_token(const db::OperatorToken& t) override { return inner_->create_operator_token(t); }
  Result<std::optional<db::OperatorToken>> find_operator_token_by_hash(std::string_view h) override {
    return inner_->find_operator_token_by_hash(h);
  }
  Result<std::vector<db::OperatorToken>> list_operator_tokens() override { return inner_->list_operator_tokens(); }
  Result<bool> revoke_operator_token(std::string_view id) override { return inner_->revoke_operator_token(id); }
  Status put_catalog_image(const db::CatalogImage& i) override { return inner_->put_catalog_image(i); }
  Result<std::optional<db::CatalogImage>> get_catalog_image(std::string_view n) override {
    return inner_->get_catalog_image(n);
  }
  Result<std::vector<db::CatalogImage>> list_catalog_images() override { return inner_->list_catalog_images(); }
  Result<bool> delete_catalog_image(std::string_view n) override { return inner_->delete_catalog_image(n); }

 private:
  std::unique_ptr<db::MetaStore> inner_;
};

// SPC-4 6.15 / 6.16 PERSISTENT RESERVE IN / OUT.
constexpr uint8_t kPrIn = 0x5E;
constexpr uint8_t kPrOut = 0x5F;
constexpr uint8_t kReadKeys = 0x00;
constexpr uint8_t kReadReservation = 0x01;
constexpr uint8_t kRegister = 0x00;
constexpr uint8_t kReserve = 0x01;
constexpr uint8_t kClear = 0x03;
constexpr uint8_t kPreempt = 0x04;
constexpr uint8_t kWriteExclusive = 0x01;
constexpr uint8_t kTestUnitReady = 0x00;
constexpr uint8_t kWrite10 = 0x2A;
constexpr uint8_t kGood = 0x00;
constexpr uint8_t kCheckCondition = 0x02;
constexpr uint8_t kReservationConflict = 0x18;
constexpr SenseFields kInternalTargetFailure{0x04, 0x44, 0x00};  // HARDWARE ERROR

struct Reply {
  uint8_t status = 0;
  std::vector<uint8_t> data;
  std::optional<SenseFields> sense;
};

class PrPersistFailureTest : public ::testing::Test {
 protected:
  scsipub::testing::FixedClock clock_;
  scsipub::testing::SeededRandom random_;
  TempDir tmp_;
  std::unique_ptr<Catalog> catalog_;
  PrWriteFailingStore* store_ = nullptr;  // owned by owned_store_
  std::unique_ptr<db::MetaStore> owned_store_;
  Tiers tiers_;
  std::unique_ptr<TargetDirectory> directory_;
  std::unique_ptr<ProvisionedDisks> disks_;
  std::string target_;
  lu::Nexus a_, b_;
  std::unique_ptr<iscsi::TargetBinding> binding_a_, binding_b_;
  scsi::CommandSet commands_;

  void SetUp() override {
    std::filesystem::create_directories(tmp_.path() / "images");
    catalog_ = std::make_unique<Catalog>(tmp_.path() / "images");
    ASSERT_TRUE(catalog_->rescan());
    auto sqlite = db::SqliteStore::open(tmp_.path());
    ASSERT_TRUE(sqlite.ok()) << sqlite.error().message;
    auto store = std::make_unique<PrWriteFailingStore>(std::move(sqlite).value());
    store_ = store.get();
    owned_store_ = std::move(store);
    Tier tier;
    tier.blank_size = 1 << 20;
    std::map<std::string, Tier, std::less<>> tiers;
    tiers.emplace("pro", tier);
    tiers_ = Tiers(std::move(tiers));
    DirectoryConfig dcfg;
    dcfg.overlay_dir = tmp_.path() / "overlays";
    directory_ = std::make_unique<TargetDirectory>(dcfg, *catalog_, local_placement(), clock_, random_);
    disks_ = std::make_unique<ProvisionedDisks>(
        ProvisionedConfig{tmp_.path() / "disks"}, *owned_store_, tiers_,
        [this](const std::string& image) { return directory_->image_base(image); }, [](std::string_view) {}, clock_,
        random_);
    ASSERT_TRUE(disks_->load());
    directory_->attach_provisioned(disks_.get());
    db::Account account{"acct", "pro", std::string(64, 'a'), std::chrono::sys_seconds(std::chrono::seconds(1700000000))};
    ASSERT_TRUE(owned_store_->create_account(account));
    auto disk = disks_->create(account, {"blank"});
    ASSERT_TRUE(disk.ok()) << disk.error().message;
    target_ = disk_target(disk.value()->record().id);
    a_ = nexus(1, "iqn.2025-01.test:a");
    b_ = nexus(2, "iqn.2025-01.test:b");
    binding_a_ = bind(a_);
    binding_b_ = bind(b_);
    ASSERT_TRUE(binding_a_ && binding_b_);
    drain_unit_attentions(a_, *binding_a_);
    drain_unit_attentions(b_, *binding_b_);
  }

  lu::Nexus nexus(uint64_t id, const std::string& initiator) const {
    lu::Nexus n;
    n.id = id;
    n.initiator_name = initiator;
    n.isid = {0x80, 0, 0, 0, 0, uint8_t(id)};
    n.target_name = target_;
    return n;
  }

  std::unique_ptr<iscsi::TargetBinding> bind(const lu::Nexus& n) {
    auto b = directory_->bind(target_, n, iscsi::PortalInfo{"127.0.0.1", 3260, "127.0.0.1", 40000});
    EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().message);
    return b.ok() ? std::move(b).value() : nullptr;
  }

  Reply run(const lu::Nexus& n, const iscsi::TargetBinding& binding, std::vector<uint8_t> cdb,
            std::vector<uint8_t> data_out = {}) {
    cdb.resize(16, 0);
    scsi::ScsiTask task;
    task.cdb = cdb;
    task.lun = 0;
    task.nexus = &n;
    task.data_out = data_out;
    task.write_flag = !data_out.empty();
    task.read_flag = data_out.empty();
    task.expected_length = data_out.empty() ? 4096 : uint32_t(data_out.size());
    Buffer in;
    task.data_in = &in;
    commands_.execute(task, binding.luns());
    Reply r;
    r.status = task.status;
    r.data.assign(in.data(), in.data() + in.size());
    if (task.sense_length > 0) r.sense = parse_sense(std::span(task.sense.data(), task.sense_length));
    return r;
  }

  // A new nexus starts with a unit attention (power on / reset); take them
  // so that any later one is news. Bounded: a few at most are queued.
  void drain_unit_attentions(const lu::Nexus& n, const iscsi::TargetBinding& binding) {
    for (int i = 0; i < 8; ++i) {
      if (run(n, binding, {kTestUnitReady}).status == kGood) return;
    }
    ADD_FAILURE() << "unit attentions did not drain";
  }

  Reply pr_out(const lu::Nexus& n, const iscsi::TargetBinding& binding, uint8_t action, uint64_t key,
               uint64_t action_key, uint8_t type = 0) {
    std::vector<uint8_t> params(24, 0);
    store_be64(&params[0], key);
    store_be64(&params[8], action_key);
    std::vector<uint8_t> cdb(10, 0);
    cdb[0] = kPrOut;
    cdb[1] = action;
    cdb[2] = type;
    store_be32(&cdb[5], uint32_t(params.size()));
    return run(n, binding, cdb, params);
  }

  Reply pr_in(const lu::Nexus& n, const iscsi::TargetBinding& binding, uint8_t action) {
    std::vector<uint8_t> cdb(10, 0);
    cdb[0] = kPrIn;
    cdb[1] = action;
    store_be16(&cdb[7], 4096);
    return run(n, binding, cdb);
  }

  // READ KEYS: generation, then the registered keys in order.
  std::vector<uint64_t> read_keys(const lu::Nexus& n, const iscsi::TargetBinding& binding) {
    Reply r = pr_in(n, binding, kReadKeys);
    EXPECT_EQ(r.status, kGood);
    std::vector<uint64_t> out;
    if (r.data.size() < 8) return out;
    out.push_back(load_be32(&r.data[0]));
    const uint32_t length = load_be32(&r.data[4]);
    for (size_t off = 8; off + 8 <= r.data.size() && off < 8 + size_t(length); off += 8) {
      out.push_back(load_be64(&r.data[off]));
    }
    return out;
  }
};

TEST_F(PrPersistFailureTest, ARefusedWriteKeepsTheOldStateAndTellsNoOtherNexus) {
  // The state the failed commands must leave alone: both registered, A holds
  // a Write Exclusive reservation; all of it stored.
  ASSERT_EQ(pr_out(a_, *binding_a_, kRegister, 0, 0xA).status, kGood);
  ASSERT_EQ(pr_out(b_, *binding_b_, kRegister, 0, 0xB).status, kGood);
  ASSERT_EQ(pr_out(a_, *binding_a_, kReserve, 0xA, 0, kWriteExclusive).status, kGood);
  drain_unit_attentions(a_, *binding_a_);
  drain_unit_attentions(b_, *binding_b_);
  const std::vector<uint64_t> keys_before = read_keys(a_, *binding_a_);
  ASSERT_EQ(keys_before.size(), 3u);  // generation + two keys
  const Reply reservation_before = pr_in(b_, *binding_b_, kReadReservation);
  ASSERT_EQ(reservation_before.status, kGood);
  auto stored_before = owned_store_->load_pr_state(db::LuKey{std::string(disk_id_of(target_)), 0});
  ASSERT_TRUE(stored_before.ok() && stored_before.value());

  store_->fail_pr_writes = true;
  // Each of these would change the state and, for CLEAR and PREEMPT, raise
  // a unit attention at B (SPC-4 5.9.11, 5.9.12).
  const std::vector<std::pair<const char*, Reply>> refused{
      {"CLEAR", pr_out(a_, *binding_a_, kClear, 0xA, 0)},
      {"PREEMPT", pr_out(a_, *binding_a_, kPreempt, 0xA, 0xB, kWriteExclusive)},
      {"REGISTER (new key)", pr_out(b_, *binding_b_, kRegister, 0xB, 0xBB)},
  };
  EXPECT_EQ(store_->pr_writes_refused, 3);
  for (const auto& [what, r] : refused) {
    EXPECT_EQ(r.status, kCheckCondition) << what;
    EXPECT_EQ(r.sense, kInternalTargetFailure) << what;
  }

  // Nothing changed, for either nexus.
  EXPECT_EQ(read_keys(a_, *binding_a_), keys_before);
  EXPECT_EQ(read_keys(b_, *binding_b_), keys_before);
  const Reply reservation_after = pr_in(b_, *binding_b_, kReadReservation);
  EXPECT_EQ(reservation_after.status, kGood);
  EXPECT_EQ(reservation_after.data, reservation_before.data);
  // No unit attention reached B: its next command just runs.
  const Reply tur = run(b_, *binding_b_, {kTestUnitReady});
  EXPECT_EQ(tur.status, kGood);
  EXPECT_EQ(tur.sense, std::nullopt);
  // The reservation still holds B, a registrant but not the holder, off writing.
  std::vector<uint8_t> write10(10, 0);
  write10[0] = kWrite10;
  store_be16(&write10[7], 1);
  EXPECT_EQ(run(b_, *binding_b_, write10, std::vector<uint8_t>(512, 0x5a)).status, kReservationConflict);
  // And the database still holds the old state.
  auto stored_after = owned_store_->load_pr_state(db::LuKey{std::string(disk_id_of(target_)), 0});
  ASSERT_TRUE(stored_after.ok() && stored_after.value());
  EXPECT_EQ(*stored_after.value(), *stored_before.value());

  // Once the database takes writes again the same command succeeds.
  store_->fail_pr_writes = false;
  EXPECT_EQ(pr_out(a_, *binding_a_, kClear, 0xA, 0).status, kGood);
  EXPECT_EQ(read_keys(a_, *binding_a_).size(), 1u);  // generation only
}

}  // namespace
}  // namespace scsipub::control
