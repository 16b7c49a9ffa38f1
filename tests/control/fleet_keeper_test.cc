// The fleet keeper: rendezvous preference as values, then two keepers on one
// real PostgreSQL database (SCSIPUB_TEST_PG_URL; skipped without it).
#include "control/fleet_keeper.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db/pg_test_schema.h"  // tests/db/pg_test_schema.h
#include "db/postgres_store.h"

namespace scsipub::control {
namespace {

using namespace std::chrono_literals;
using db::LeaseRecord;
using db::NodeRecord;

std::vector<NodeRecord> alive_nodes(std::initializer_list<const char*> ids) {
  std::vector<NodeRecord> out;
  for (const char* id : ids) {
    NodeRecord n;
    n.id = id;
    n.alive = true;
    out.push_back(n);
  }
  return out;
}

TEST(PreferredNode, OnlyAliveNodesAreChosen) {
  auto nodes = alive_nodes({"a", "b", "c"});
  EXPECT_EQ(preferred_node("disk", {}), "");
  for (auto& n : nodes) n.alive = false;
  EXPECT_EQ(preferred_node("disk", nodes), "");
  nodes[1].alive = true;
  EXPECT_EQ(preferred_node("disk", nodes), "b");
}

TEST(PreferredNode, SpreadsDisksAndMovesOnlyTheDeadNodesShare) {
  const auto three = alive_nodes({"node-a", "node-b", "node-c"});
  auto two = three;
  two[2].alive = false;  // node-c dies
  std::map<std::string, int> share;
  int moved_from_survivors = 0;
  constexpr int kDisks = 3000;
  for (int i = 0; i < kDisks; ++i) {
    const std::string disk = "disk-" + std::to_string(i);
    const std::string before = preferred_node(disk, three);
    ++share[before];
    const std::string after = preferred_node(disk, two);
    if (before != "node-c" && after != before) ++moved_from_survivors;
    EXPECT_NE(after, "node-c");
  }
  for (const auto& [node, n] : share) {
    EXPECT_GT(n, kDisks / 5) << node;  // roughly a third each
    EXPECT_LT(n, kDisks / 2) << node;
  }
  EXPECT_EQ(moved_from_survivors, 0) << "a disk changes node only if its node died";
}

TEST(PreferredNode, IsTheSameWhateverTheOrderOfTheList) {
  auto nodes = alive_nodes({"x", "y", "z"});
  auto reversed = alive_nodes({"z", "y", "x"});
  for (int i = 0; i < 50; ++i) {
    const std::string disk = "d" + std::to_string(i);
    EXPECT_EQ(preferred_node(disk, nodes), preferred_node(disk, reversed));
  }
}

// Short enough for a quick test, long enough that a loaded machine (ASan,
// shared cores) does not starve a keeper past its deadline.
FleetSettings settings_for(const std::string& id) {
  FleetSettings s;
  s.self.id = id;
  s.self.iscsi_portal = "127.0.0.1:3260";
  s.self.version = "test";
  s.heartbeat = 200ms;
  s.node_timeout = 800ms;
  s.lease = 1500ms;
  s.storage_client = "client." + id;
  return s;
}

TEST(FleetSettings, ForgettingNodesIsOffOrLongerThanTheNodeTimeout) {
  auto s = settings_for("a");
  s.forget_nodes_after = 0s;
  EXPECT_TRUE(validate(s).ok());
  s.forget_nodes_after = 1s;
  EXPECT_TRUE(validate(s).ok());
  s.node_timeout = 1000ms;
  EXPECT_FALSE(validate(s).ok()) << "would forget a node that is merely slow";
  s.forget_nodes_after = -1s;
  EXPECT_FALSE(validate(s).ok());
}

TEST(FleetSettings, LeaseMustOutlastThreeHeartbeats) {
  EXPECT_TRUE(validate(settings_for("a")).ok());
  auto s = settings_for("a");
  s.lease = 600ms;
  EXPECT_FALSE(validate(s).ok());
  s = settings_for("a");
  s.node_timeout = 200ms;
  EXPECT_FALSE(validate(s).ok());
  s = settings_for("");
  EXPECT_FALSE(validate(s).ok());
  s = settings_for("a");
  s.self.iscsi_portal.clear();
  EXPECT_FALSE(validate(s).ok());
}

// A FleetStore that can be cut off from the database, as a partitioned or
// paused node would be; it notes when its last successful grant or renewal
// was sent.
class CuttableFleet final : public db::FleetStore {
 public:
  explicit CuttableFleet(db::FleetStore& inner) : inner_(inner) {}
  std::atomic<bool> cut{false};

  std::chrono::steady_clock::time_point last_lease_sent() const {
    std::lock_guard lock(mu_);
    return last_lease_sent_;
  }

  Result<db::HeartbeatResult> heartbeat(const NodeRecord& node, bool first, int64_t timeout) override {
    if (cut) return fail("cut off");
    return inner_.heartbeat(node, first, timeout);
  }
  Result<std::vector<NodeRecord>> list_nodes(int64_t timeout) override {
    if (cut) return fail("cut off");
    return inner_.list_nodes(timeout);
  }
  Result<bool> remove_node(std::string_view id, std::string_view instance) override {
    if (cut) return fail("cut off");
    return inner_.remove_node(id, instance);
  }
  Result<int64_t> forget_nodes(int64_t older_than_ms) override {
    if (cut) return fail("cut off");
    return inner_.forget_nodes(older_than_ms);
  }
  Result<db::LeaseList> list_leases() override {
    if (cut) return fail("cut off");
    return inner_.list_leases();
  }
  Result<std::optional<db::AcquiredLease>> acquire_lease(std::string_view disk, std::string_view node,
                                                         std::string_view client, int64_t ms) override {
    if (cut) return fail("cut off");
    const auto sent = std::chrono::steady_clock::now();
    auto r = inner_.acquire_lease(disk, node, client, ms);
    if (r && *r) note(sent);
    return r;
  }
  Result<bool> renew_lease(std::string_view disk, std::string_view node, int64_t epoch, int64_t ms) override {
    if (cut) return fail("cut off");
    const auto sent = std::chrono::steady_clock::now();
    auto r = inner_.renew_lease(disk, node, epoch, ms);
    if (r && *r) note(sent);
    return r;
  }
  Result<bool> release_lease(std::string_view disk, std::string_view node, int64_t epoch) override {
    if (cut) return fail("cut off");
    return inner_.release_lease(disk, node, epoch);
  }
  Status save_pr_state_fenced(const db::LuKey& lu, const db::PrState& state, std::string_view node,
                              int64_t epoch) override {
    if (cut) return fail("cut off");
    return inner_.save_pr_state_fenced(lu, state, node, epoch);
  }

 private:
  void note(std::chrono::steady_clock::time_point sent) {
    std::lock_guard lock(mu_);
    last_lease_sent_ = sent;
  }
  db::FleetStore& inner_;
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point last_lease_sent_{};
};

struct Event {
  std::string node;
  std::string kind;  // "acquired" | "lost"
  std::string disk;
  int64_t epoch = 0;
  std::string previous_owner;
  std::chrono::steady_clock::time_point at;
};

class EventLog {
 public:
  void add(Event e) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
  }
  std::vector<Event> all() const {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;
};

// One node: its own store connection, a cuttable fleet, a keeper.
struct Node {
  Node(const std::string& url, const std::string& id, EventLog& log, uint32_t sessions,
       const std::string& instance = "") {
    auto s = db::PostgresStore::open(url);
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (!s.ok()) return;
    store = std::move(*s);
    fleet = std::make_unique<CuttableFleet>(*store->fleet());
    FleetCallbacks cb;
    cb.on_acquired = [this, id, instance, &log](const std::string& disk, const LeaseRecord& lease,
                                      const std::optional<LeaseRecord>& previous,
                                      std::shared_ptr<const storage::LeaseDeadline> d) -> Status {
      EXPECT_TRUE(d->valid()) << "the deadline handed over is live";
      {
        std::lock_guard lock(mu);
        deadlines[disk] = d;
      }
      log.add(Event{id + instance, "acquired", disk, lease.epoch, previous ? previous->owner_node : "",
                    std::chrono::steady_clock::now()});
      return ok_status();
    };
    cb.on_lost = [id, instance, &log](const std::string& disk) {
      log.add(Event{id + instance, "lost", disk, 0, "", std::chrono::steady_clock::now()});
    };
    cb.session_count = [sessions] { return sessions; };
    FleetSettings settings = settings_for(id);
    settings.self.instance = instance;  // "" = a random one, as in production
    keeper = std::make_unique<FleetKeeper>(*fleet, *store, clock, std::move(settings), std::move(cb));
  }

  std::shared_ptr<const storage::LeaseDeadline> deadline(const std::string& disk) {
    std::lock_guard lock(mu);
    auto it = deadlines.find(disk);
    return it == deadlines.end() ? nullptr : it->second;
  }

  SystemClock clock;
  std::unique_ptr<db::PostgresStore> store;
  std::unique_ptr<CuttableFleet> fleet;
  std::unique_ptr<FleetKeeper> keeper;
  std::mutex mu;
  std::map<std::string, std::shared_ptr<const storage::LeaseDeadline>> deadlines;
};

// Polls `done` every 10 ms for at most `limit`.
bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

class FleetKeeperPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto schema = db::testing::PgTestSchema::create();
    ASSERT_TRUE(schema.ok()) << schema.error().message;
    if (!*schema) GTEST_SKIP() << "set " << db::testing::PgTestSchema::kUrlVariable << " to run";
    schema_ = std::move(*schema);
    auto s = db::PostgresStore::open(schema_->url());
    ASSERT_TRUE(s.ok()) << s.error().message;
    setup_ = std::move(*s);
    ASSERT_TRUE(setup_->create_account(db::Account{"acct", "pro", "hash", {}}).ok());
    auto st = setup_->create_disk(db::Disk{"d1", "acct", {"image"}, "chap-d1", "secret", std::nullopt, 1 << 20, {}, std::nullopt});
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  static bool holds(const Node& n, const std::string& disk) {
    return n.keeper->read([&](const FleetSnapshot& s) {
      return std::find(s.held.begin(), s.held.end(), disk) != s.held.end();
    });
  }

  std::unique_ptr<db::testing::PgTestSchema> schema_;
  std::unique_ptr<db::PostgresStore> setup_;
  EventLog log_;
};

TEST_F(FleetKeeperPgTest, OneOfTwoNodesTakesTheDiskAndTheOtherSeesIt) {
  Node a(schema_->url(), "node-a", log_, 5);
  Node b(schema_->url(), "node-b", log_, 2);
  ASSERT_TRUE(a.keeper && b.keeper);
  a.keeper->start();
  b.keeper->start();
  ASSERT_TRUE(wait_for([&] { return holds(a, "d1") || holds(b, "d1"); }));
  Node& owner = holds(a, "d1") ? a : b;
  Node& other = &owner == &a ? b : a;
  const std::string owner_id = owner.keeper->settings().self.id;
  ASSERT_TRUE(wait_for([&] {
    return other.keeper->read([&](const FleetSnapshot& s) {
      return s.nodes.size() == 2 && s.nodes[0].alive && s.nodes[1].alive && s.leases.size() == 1 &&
             s.leases[0].owner_node == owner_id;
    });
  }));
  const FleetSnapshot seen = other.keeper->snapshot();
  EXPECT_TRUE(seen.connected) << seen.last_error;
  EXPECT_EQ(seen.leases[0].epoch, 1);
  EXPECT_EQ(seen.leases[0].owner_client, "client." + owner_id);
  EXPECT_GT(seen.leases[0].expires_ms, seen.db_now_ms);
  EXPECT_TRUE(seen.held.empty());

  auto least = other.keeper->least_loaded_alive();
  ASSERT_TRUE(least.has_value());
  EXPECT_EQ(least->id, "node-b") << "2 sessions < 5";
  EXPECT_EQ(least->sessions, 2u);

  // Several renewals: the same owner and epoch all along.
  std::this_thread::sleep_for(2000ms);
  EXPECT_TRUE(holds(owner, "d1"));
  EXPECT_FALSE(holds(other, "d1"));
  auto leases = setup_->fleet()->list_leases();
  ASSERT_TRUE(leases.ok());
  EXPECT_EQ(leases->leases.at(0).epoch, 1) << "renewed, never re-granted";
  const auto events = log_.all();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "acquired");

  // A clean stop gives the lease back at once and leaves the node table.
  owner.keeper->stop();
  leases = setup_->fleet()->list_leases();
  ASSERT_TRUE(leases.ok());
  EXPECT_EQ(leases->leases.at(0).owner_node, "");
  auto nodes = setup_->fleet()->list_nodes(800);
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ(nodes->front().id, other.keeper->settings().self.id);
  ASSERT_TRUE(wait_for([&] { return holds(other, "d1"); })) << "the other node takes the released disk";
  other.keeper->stop();
}

TEST_F(FleetKeeperPgTest, ACutOffOwnerStopsBeforeTheOtherNodeTakesOver) {
  Node a(schema_->url(), "node-a", log_, 0);
  ASSERT_TRUE(a.keeper);
  a.keeper->start();
  ASSERT_TRUE(wait_for([&] { return holds(a, "d1"); }));
  Node b(schema_->url(), "node-b", log_, 0);
  ASSERT_TRUE(b.keeper);
  b.keeper->start();
  ASSERT_TRUE(wait_for([&] {
    return b.keeper->read([](const FleetSnapshot& s) { return s.nodes.size() == 2; });
  }));
  std::this_thread::sleep_for(600ms);
  EXPECT_TRUE(holds(a, "d1")) << "a live owner keeps its disk";
  EXPECT_FALSE(holds(b, "d1"));

  a.fleet->cut = true;  // no heartbeat, no renewal from now on
  ASSERT_TRUE(wait_for([&] { return holds(b, "d1"); }));
  const auto a_last_sent = a.fleet->last_lease_sent();

  const auto events = log_.all();
  const Event* lost = nullptr;
  const Event* taken = nullptr;
  for (const auto& e : events) {
    if (e.node == "node-a" && e.kind == "lost") lost = &e;
    if (e.node == "node-b" && e.kind == "acquired") taken = &e;
  }
  ASSERT_NE(lost, nullptr);
  ASSERT_NE(taken, nullptr);
  EXPECT_LT(lost->at, taken->at) << "the old owner stopped before the new one started";
  EXPECT_EQ(taken->epoch, 2);
  EXPECT_EQ(taken->previous_owner, "node-a");
  EXPECT_GE(taken->at - a_last_sent, 1500ms) << "taken only after the lease expired";
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  // For the record (not asserted beyond the ordering above): how long the
  // disk had no writer, and by how much the old owner stopped first.
  std::printf("takeover: old owner's last renewal sent %lld ms before the new grant; old owner stopped %lld ms "
              "before it\n",
              static_cast<long long>(duration_cast<milliseconds>(taken->at - a_last_sent).count()),
              static_cast<long long>(duration_cast<milliseconds>(taken->at - lost->at).count()));
  auto a_deadline = a.deadline("d1");
  ASSERT_TRUE(a_deadline);
  EXPECT_FALSE(a_deadline->valid()) << "the old owner's stores refuse I/O";
  EXPECT_FALSE(holds(a, "d1"));

  a.keeper->stop();  // cut off: gives back nothing, must still return
  b.keeper->stop();
}

// Two live processes configured with one node id: the second stops at
// join(), having taken nothing, and the first keeps its disk and its row.
TEST_F(FleetKeeperPgTest, ASecondLiveProcessWithTheSameNodeIdIsRefusedAtJoin) {
  Node first(schema_->url(), "node-a", log_, 0, "i-first");
  ASSERT_TRUE(first.keeper);
  ASSERT_TRUE(first.keeper->join().ok());
  first.keeper->start();
  ASSERT_TRUE(wait_for([&] { return holds(first, "d1"); }));

  Node second(schema_->url(), "node-a", log_, 0, "i-second");
  ASSERT_TRUE(second.keeper);
  const auto t0 = std::chrono::steady_clock::now();
  auto joined = second.keeper->join();
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(joined.ok());
  EXPECT_NE(joined.error().message.find("i-first"), std::string::npos) << joined.error().message;
  EXPECT_NE(joined.error().message.find("node_id"), std::string::npos) << joined.error().message;
  EXPECT_LE(took, 800ms + 3 * 200ms + 500ms) << "about one node timeout at most";
  std::printf("duplicate node id refused at join after %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  second.keeper->stop();  // leaves the first's row alone

  std::this_thread::sleep_for(400ms);
  EXPECT_TRUE(holds(first, "d1"));
  auto nodes = setup_->fleet()->list_nodes(800);
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ(nodes->front().instance, "i-first");
  EXPECT_TRUE(nodes->front().alive);
  for (const auto& e : log_.all()) EXPECT_EQ(e.node, "node-ai-first") << e.kind << " by the refused process";
  first.keeper->stop();
}

// A process that died (here: cut off, as kill -9 leaves its row) is replaced
// by a restart under the same id: join() waits for the old row to go stale
// and takes it over; the new process then takes the disk after the lease
// expires. When the old one comes back, it is the duplicate: it renews and
// takes nothing and says why.
TEST_F(FleetKeeperPgTest, ARestartTakesOverADeadProcessRowAndTheOldOneYields) {
  Node old_one(schema_->url(), "node-a", log_, 0, "i-old");
  ASSERT_TRUE(old_one.keeper);
  ASSERT_TRUE(old_one.keeper->join().ok());
  old_one.keeper->start();
  ASSERT_TRUE(wait_for([&] { return holds(old_one, "d1"); }));
  old_one.fleet->cut = true;

  Node restarted(schema_->url(), "node-a", log_, 0, "i-new");
  ASSERT_TRUE(restarted.keeper);
  auto joined = restarted.keeper->join();
  ASSERT_TRUE(joined.ok()) << joined.error().message;
  restarted.keeper->start();
  ASSERT_TRUE(wait_for([&] { return holds(restarted, "d1"); }));
  EXPECT_FALSE(holds(old_one, "d1"));

  old_one.fleet->cut = false;  // the old process resumes
  ASSERT_TRUE(wait_for([&] {
    return old_one.keeper->read([](const FleetSnapshot& s) {
      return s.last_error.find("another live process (instance i-new)") != std::string::npos;
    });
  }));
  std::this_thread::sleep_for(600ms);
  EXPECT_FALSE(holds(old_one, "d1"));
  EXPECT_TRUE(holds(restarted, "d1"));
  auto nodes = setup_->fleet()->list_nodes(800);
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ(nodes->front().instance, "i-new") << "the resumed process wrote nothing";
  old_one.keeper->stop();
  nodes = setup_->fleet()->list_nodes(800);
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->size(), 1u) << "the old process's stop leaves the new one's row";
  restarted.keeper->stop();
}

}  // namespace
}  // namespace scsipub::control
