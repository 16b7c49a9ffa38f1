// FleetKeeper rounds driven by hand, on an in-memory FleetStore with a clock
// the test moves: who takes which disk when, and what a failed open does.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/fleet_keeper.h"
#include "db/sqlite_store.h"
#include "storage/temp_dir.h"

namespace scsipub::control {
namespace {

using namespace std::chrono_literals;

// Steady time moved by the test, in any step.
class StepClock final : public Clock {
 public:
  WallTime wall_now() const override { return WallTime{} + (steady_ - SteadyTime{}); }
  SteadyTime steady_now() const override { return steady_; }
  void advance(std::chrono::milliseconds by) { steady_ += by; }

 private:
  SteadyTime steady_{std::chrono::hours(1)};
};

// The lease rules of the PostgreSQL store, in memory, with a database clock
// the test sets.
class MemoryFleet final : public db::FleetStore {
 public:
  int64_t now_ms = 1'000'000;
  bool down = false;  // every call fails, as with the database unreachable

  Result<db::HeartbeatResult> heartbeat(const db::NodeRecord& n, bool, int64_t timeout) override {
    if (down) return fail("database unreachable");
    if (auto it = nodes.find(n.id); it != nodes.end()) {
      const db::NodeRecord& row = it->second;
      if (!row.instance.empty() && row.instance != n.instance && now_ms - row.heartbeat_ms <= timeout) {
        return db::HeartbeatResult{now_ms, db::NodeClash{row.instance, row.heartbeat_ms}};
      }
    }
    nodes[n.id] = n;
    nodes[n.id].heartbeat_ms = now_ms;
    return db::HeartbeatResult{now_ms, std::nullopt};
  }
  Result<std::vector<db::NodeRecord>> list_nodes(int64_t timeout) override {
    if (down) return fail("database unreachable");
    std::vector<db::NodeRecord> out;
    for (auto [id, n] : nodes) {
      n.alive = now_ms - n.heartbeat_ms <= timeout;
      out.push_back(n);
    }
    return out;
  }
  Result<bool> remove_node(std::string_view id, std::string_view instance) override {
    auto it = nodes.find(std::string(id));
    if (it == nodes.end() || it->second.instance != instance) return false;
    nodes.erase(it);
    return true;
  }
  Result<int64_t> forget_nodes(int64_t older_than_ms) override {
    if (down) return fail("database unreachable");
    forget_calls.push_back(older_than_ms);
    return int64_t{0};
  }
  Result<db::LeaseList> list_leases() override {
    if (down) return fail("database unreachable");
    db::LeaseList l;
    l.now_ms = now_ms;
    for (const auto& [id, lease] : leases) l.leases.push_back(lease);
    return l;
  }
  Result<std::optional<db::AcquiredLease>> acquire_lease(std::string_view disk, std::string_view node,
                                                         std::string_view client, int64_t ms) override {
    if (down) return fail("database unreachable");
    ++acquire_calls;
    auto it = leases.find(std::string(disk));
    std::optional<db::LeaseRecord> previous;
    if (it != leases.end()) {
      if (!it->second.owner_node.empty() && it->second.expires_ms > now_ms) return std::optional<db::AcquiredLease>();
      previous = it->second;
    }
    db::LeaseRecord next{std::string(disk), std::string(node), previous ? previous->epoch + 1 : 1, now_ms + ms,
                         std::string(client)};
    leases[std::string(disk)] = next;
    return std::optional<db::AcquiredLease>(db::AcquiredLease{next, previous});
  }
  Result<bool> renew_lease(std::string_view disk, std::string_view node, int64_t epoch, int64_t ms) override {
    if (down) return fail("database unreachable");
    auto it = leases.find(std::string(disk));
    if (it == leases.end() || it->second.owner_node != node || it->second.epoch != epoch ||
        it->second.expires_ms <= now_ms) {
      return false;
    }
    it->second.expires_ms = now_ms + ms;
    return true;
  }
  Result<bool> release_lease(std::string_view disk, std::string_view node, int64_t epoch) override {
    auto it = leases.find(std::string(disk));
    if (it == leases.end() || it->second.owner_node != node || it->second.epoch != epoch) return false;
    it->second.owner_node.clear();
    it->second.owner_client.clear();
    it->second.expires_ms = 0;
    return true;
  }
  Status save_pr_state_fenced(const db::LuKey&, const db::PrState&, std::string_view, int64_t) override {
    return fail("not used");
  }

  std::map<std::string, db::NodeRecord> nodes;
  std::map<std::string, db::LeaseRecord> leases;
  int acquire_calls = 0;
  std::vector<int64_t> forget_calls;  // the age of each forget_nodes call
};

FleetSettings settings_for(const std::string& id) {
  FleetSettings s;
  s.self.id = id;
  s.self.iscsi_portal = "127.0.0.1:3260";
  s.heartbeat = 100ms;
  s.node_timeout = 400ms;
  s.lease = 500ms;
  return s;
}

class FleetKeeperRounds : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = db::SqliteStore::open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.error().message;
    meta_ = std::move(*s);
    ASSERT_TRUE(meta_->create_account(db::Account{"acct", "pro", "hash", {}}).ok());
  }
  void add_disk(const std::string& id) {
    auto st = meta_->create_disk(
        db::Disk{id, "acct", {"image"}, "chap-" + id, "secret", std::nullopt, 1 << 20, {}, std::nullopt});
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  // Another node heartbeating now.
  void other_node_alive(const std::string& id) {
    db::NodeRecord n;
    n.id = id;
    ASSERT_TRUE(fleet_.heartbeat(n, false, 400).ok());
  }
  // A disk id whose preferred node among `ids` (all alive) is `want`.
  static std::string disk_preferring(const std::string& want, const std::vector<std::string>& ids) {
    std::vector<db::NodeRecord> nodes;
    for (const auto& id : ids) {
      db::NodeRecord n;
      n.id = id;
      n.alive = true;
      nodes.push_back(n);
    }
    for (int i = 0; i < 1000; ++i) {
      std::string disk = "disk" + std::to_string(i);
      if (preferred_node(disk, nodes) == want) return disk;
    }
    return "";
  }

  scsipub::testing::TempDir dir_;
  std::unique_ptr<db::SqliteStore> meta_;
  MemoryFleet fleet_;
  StepClock clock_;
};

TEST_F(FleetKeeperRounds, ANonPreferredNodeWaitsOneNodeTimeoutBeforeTakingADisk) {
  const std::string disk = disk_preferring("node-b", {"node-a", "node-b"});
  ASSERT_FALSE(disk.empty());
  add_disk(disk);
  std::vector<std::string> acquired;
  FleetCallbacks cb;
  cb.on_acquired = [&](const std::string& d, const db::LeaseRecord&, const std::optional<db::LeaseRecord>&,
                       std::shared_ptr<const storage::LeaseDeadline>) -> Status {
    acquired.push_back(d);
    return ok_status();
  };
  FleetKeeper a(fleet_, *meta_, clock_, settings_for("node-a"), cb);
  other_node_alive("node-b");  // alive, preferred, but never takes it
  a.run_round();
  EXPECT_TRUE(acquired.empty()) << "node-b is preferred and alive";
  EXPECT_EQ(fleet_.acquire_calls, 0);
  clock_.advance(1000ms);  // past the grace (node_timeout) on this node's clock
  other_node_alive("node-b");
  a.run_round();
  EXPECT_EQ(acquired, std::vector<std::string>{disk}) << "after the grace anyone may take it";
  EXPECT_EQ(fleet_.leases.at(disk).owner_node, "node-a");
  a.stop();
  EXPECT_EQ(fleet_.leases.at(disk).owner_node, "") << "a clean stop gives it back";
}

TEST_F(FleetKeeperRounds, AClaimedDiskIsTakenAtOnceEvenWhenAnotherNodeIsPreferred) {
  const std::string disk = disk_preferring("node-b", {"node-a", "node-b"});
  ASSERT_FALSE(disk.empty());
  std::vector<std::pair<std::string, int64_t>> acquired;
  FleetCallbacks cb;
  cb.on_acquired = [&](const std::string& d, const db::LeaseRecord& l, const std::optional<db::LeaseRecord>&,
                       std::shared_ptr<const storage::LeaseDeadline>) -> Status {
    acquired.emplace_back(d, l.epoch);
    return ok_status();
  };
  FleetKeeper a(fleet_, *meta_, clock_, settings_for("node-a"), cb);
  other_node_alive("node-b");
  a.run_round();  // the records were read before the disk existed
  add_disk(disk);  // created through node-a
  a.claim(disk);
  other_node_alive("node-b");
  a.run_round();
  ASSERT_EQ(acquired.size(), 1u) << "no wait for the next read of the records nor for node-b";
  EXPECT_EQ(acquired[0], std::make_pair(disk, int64_t{1}));
  a.run_round();
  a.run_round();
  EXPECT_EQ(acquired.size(), 1u) << "taken once: its epoch is not bumped by the next rounds";
  EXPECT_EQ(fleet_.leases.at(disk).epoch, 1);
  EXPECT_EQ(fleet_.leases.at(disk).owner_node, "node-a");
  a.stop();
}

TEST_F(FleetKeeperRounds, AFrontNodeNeverTakesADisk) {
  add_disk("d1");
  int acquired = 0;
  FleetCallbacks cb;
  cb.on_acquired = [&](const std::string&, const db::LeaseRecord&, const std::optional<db::LeaseRecord>&,
                       std::shared_ptr<const storage::LeaseDeadline>) -> Status {
    ++acquired;
    return ok_status();
  };
  FleetSettings front = settings_for("node-a");
  front.serve_disks = false;
  FleetKeeper a(fleet_, *meta_, clock_, front, cb);
  a.claim("d1");
  for (int i = 0; i < 5; ++i) {
    a.run_round();
    clock_.advance(1000ms);  // well past every grace period
  }
  EXPECT_EQ(acquired, 0);
  EXPECT_EQ(fleet_.acquire_calls, 0);
  EXPECT_TRUE(fleet_.nodes.count("node-a")) << "it still heartbeats: logins it redirects find it alive";
  a.stop();
}

TEST_F(FleetKeeperRounds, AFailedOpenGivesTheLeaseBackAndWaitsBeforeTryingAgain) {
  add_disk("d1");
  int attempts = 0;
  std::shared_ptr<const storage::LeaseDeadline> handed;
  FleetCallbacks cb;
  cb.on_acquired = [&](const std::string&, const db::LeaseRecord&, const std::optional<db::LeaseRecord>&,
                       std::shared_ptr<const storage::LeaseDeadline> d) -> Status {
    handed = d;
    return ++attempts == 1 ? Status(fail("storage refused")) : ok_status();
  };
  FleetKeeper a(fleet_, *meta_, clock_, settings_for("node-a"), cb);
  a.run_round();
  ASSERT_EQ(attempts, 1);
  EXPECT_EQ(fleet_.leases.at("d1").owner_node, "") << "given back at once";
  EXPECT_EQ(fleet_.leases.at("d1").epoch, 1);
  ASSERT_TRUE(handed);
  EXPECT_FALSE(handed->valid()) << "nothing serves under a lease given back";
  EXPECT_TRUE(a.snapshot().held.empty());

  a.run_round();
  EXPECT_EQ(attempts, 1) << "no retry within the back-off";
  clock_.advance(1000ms);
  a.run_round();
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(fleet_.leases.at("d1").owner_node, "node-a");
  EXPECT_EQ(fleet_.leases.at("d1").epoch, 2);
  EXPECT_EQ(a.snapshot().held, std::vector<std::string>{"d1"});
}

TEST_F(FleetKeeperRounds, ALeaseRefusedAtRenewalIsLostAtOnce) {
  add_disk("d1");
  std::vector<std::string> lost;
  std::shared_ptr<const storage::LeaseDeadline> handed;
  FleetCallbacks cb;
  cb.on_acquired = [&](const std::string&, const db::LeaseRecord&, const std::optional<db::LeaseRecord>&,
                       std::shared_ptr<const storage::LeaseDeadline> d) -> Status {
    handed = d;
    return ok_status();
  };
  cb.on_lost = [&](const std::string& d) { lost.push_back(d); };
  FleetKeeper a(fleet_, *meta_, clock_, settings_for("node-a"), cb);
  a.run_round();
  ASSERT_EQ(fleet_.leases.at("d1").owner_node, "node-a");
  // The database says another node has it now.
  fleet_.leases.at("d1").owner_node = "node-x";
  fleet_.leases.at("d1").epoch = 9;
  fleet_.leases.at("d1").expires_ms = fleet_.now_ms + 10'000;
  clock_.advance(150ms);  // renewal due (every 100 ms), deadline (400 ms) not reached
  a.run_round();
  EXPECT_EQ(lost, std::vector<std::string>{"d1"});
  ASSERT_TRUE(handed);
  EXPECT_FALSE(handed->valid());
  EXPECT_TRUE(a.snapshot().held.empty());
  EXPECT_EQ(fleet_.leases.at("d1").owner_node, "node-x") << "the new owner's lease is left alone";
}

TEST_F(FleetKeeperRounds, AnUnreachableDatabaseLosesTheLeaseAtTheLocalDeadline) {
  add_disk("d1");
  std::vector<std::string> lost;
  FleetCallbacks cb;
  cb.on_lost = [&](const std::string& d) { lost.push_back(d); };
  FleetKeeper a(fleet_, *meta_, clock_, settings_for("node-a"), cb);
  a.run_round();  // granted at t = 0: local deadline 500 - 100 = 400 ms
  ASSERT_EQ(a.snapshot().held, std::vector<std::string>{"d1"});
  fleet_.down = true;
  clock_.advance(150ms);
  a.run_round();
  EXPECT_TRUE(lost.empty()) << "still within the deadline";
  EXPECT_FALSE(a.snapshot().connected);
  EXPECT_FALSE(a.snapshot().last_error.empty());
  clock_.advance(249ms);  // t = 399 ms
  a.run_round();
  EXPECT_TRUE(lost.empty());
  clock_.advance(1ms);  // t = 400 ms
  a.run_round();
  EXPECT_EQ(lost, std::vector<std::string>{"d1"});
  EXPECT_TRUE(a.snapshot().held.empty());
}

// Another process took this node id's row (this one was silent for a node
// timeout, then came back): this one renews and takes nothing, so its lease
// runs out and is reported lost, and it says why.
TEST_F(FleetKeeperRounds, AProcessWhoseRowAnotherInstanceHoldsRenewsAndTakesNothing) {
  add_disk("d1");
  add_disk("d2");
  std::vector<std::string> lost;
  FleetCallbacks cb;
  cb.on_lost = [&](const std::string& d) { lost.push_back(d); };
  FleetSettings settings = settings_for("node-a");
  settings.self.instance = "i-mine";
  FleetKeeper a(fleet_, *meta_, clock_, settings, cb);
  a.run_round();
  ASSERT_EQ(a.snapshot().held, (std::vector<std::string>{"d1", "d2"}));
  const int taken = fleet_.acquire_calls;

  // The other process's heartbeat, fresh.
  fleet_.nodes["node-a"].instance = "i-other";
  fleet_.leases.at("d2").owner_node.clear();  // and a disk left for the taking
  const int64_t expires = fleet_.leases.at("d1").expires_ms;
  clock_.advance(150ms);
  a.run_round();
  EXPECT_EQ(fleet_.leases.at("d1").expires_ms, expires) << "no renewal";
  EXPECT_EQ(fleet_.acquire_calls, taken) << "nothing taken";
  EXPECT_EQ(fleet_.nodes.at("node-a").instance, "i-other") << "nothing written over the other's row";
  const FleetSnapshot s = a.snapshot();
  EXPECT_FALSE(s.connected);
  EXPECT_NE(s.last_error.find("another live process (instance i-other)"), std::string::npos) << s.last_error;

  clock_.advance(500ms);  // past the local deadline (lease - margin)
  a.run_round();
  EXPECT_EQ(lost, (std::vector<std::string>{"d1", "d2"}));
  EXPECT_TRUE(a.snapshot().held.empty());
  EXPECT_EQ(fleet_.acquire_calls, taken);
  a.stop();
  EXPECT_EQ(fleet_.nodes.count("node-a"), 1u) << "its stop leaves the other's row";
}

TEST_F(FleetKeeperRounds, SilentNodesAreForgottenOncePerNodeTimeout) {
  FleetSettings settings = settings_for("node-a");
  settings.forget_nodes_after = 3600s;
  FleetKeeper a(fleet_, *meta_, clock_, settings, {});
  a.run_round();
  a.run_round();
  EXPECT_EQ(fleet_.forget_calls, std::vector<int64_t>{3'600'000});
  clock_.advance(400ms);
  a.run_round();
  EXPECT_EQ(fleet_.forget_calls.size(), 2u);
  fleet_.down = true;
  clock_.advance(400ms);
  a.run_round();  // fails quietly with the rest of the round
  fleet_.down = false;
  a.stop();

  FleetSettings never = settings_for("node-b");
  never.forget_nodes_after = 0s;
  FleetKeeper b(fleet_, *meta_, clock_, never, {});
  fleet_.forget_calls.clear();
  for (int i = 0; i < 3; ++i) {
    b.run_round();
    clock_.advance(1000ms);
  }
  EXPECT_TRUE(fleet_.forget_calls.empty());
  b.stop();
}

}  // namespace
}  // namespace scsipub::control
