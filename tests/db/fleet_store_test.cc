// The PostgreSQL FleetStore against a real server (SCSIPUB_TEST_PG_URL;
// skipped without it): node heartbeats, lease grants by the database clock,
// epochs, races between nodes, and the fenced PR save.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "db/fleet_store.h"
#include "db/pg_conn.h"
#include "db/pg_test_schema.h"  // tests/db/pg_test_schema.h
#include "db/postgres_store.h"
#include "db/sqlite_store.h"
#include "storage/temp_dir.h"

namespace scsipub::db::testing {
namespace {

using namespace std::chrono_literals;

class FleetStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto schema = PgTestSchema::create();
    ASSERT_TRUE(schema.ok()) << schema.error().message;
    if (!*schema) GTEST_SKIP() << "set " << PgTestSchema::kUrlVariable << " to run the PostgreSQL tests";
    schema_ = std::move(*schema);
    a_ = open();
    b_ = open();
    ASSERT_TRUE(a_ && b_);
    ASSERT_TRUE(a_->create_account(Account{"acct", "pro", "hash", {}}).ok());
    add_disk("d1");
  }

  std::unique_ptr<PostgresStore> open() {
    auto s = PostgresStore::open(schema_->url());
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(*s) : nullptr;
  }

  void add_disk(const std::string& id) {
    Disk d{id, "acct", {"image"}, "chap-" + id, "secret-" + id, std::nullopt, 1 << 20, {}, std::nullopt};
    auto st = a_->create_disk(d);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  FleetStore& fa() { return *a_->fleet(); }
  FleetStore& fb() { return *b_->fleet(); }

  // Moves the lease's expiry into the past, as if `ms` had gone by.
  void age_lease(const std::string& disk, int64_t ms) {
    auto c = pg::Conn::connect(schema_->url());
    ASSERT_TRUE(c.ok());
    auto r = c->exec("UPDATE disk_leases SET expires_ms = expires_ms - $1 WHERE disk_id = $2", {ms, disk});
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  std::unique_ptr<PgTestSchema> schema_;
  std::unique_ptr<PostgresStore> a_;
  std::unique_ptr<PostgresStore> b_;
};

TEST_F(FleetStoreTest, HeartbeatRegistersANodeThatTurnsDeadWhenSilent) {
  NodeRecord n{"node-a", "10.0.0.1:3260", "10.0.0.1:3261", "10.0.0.1:8080", "1.0", 7};
  n.instance = "i-a";
  auto hb = fa().heartbeat(n, true, 5000);
  ASSERT_TRUE(hb.ok()) << hb.error().message;
  ASSERT_FALSE(hb->clash);
  const int64_t* t = &hb->now_ms;
  auto nodes = fb().list_nodes(5000);
  ASSERT_TRUE(nodes.ok()) << nodes.error().message;
  ASSERT_EQ(nodes->size(), 1u);
  const NodeRecord& seen = nodes->front();
  EXPECT_EQ(seen.id, "node-a");
  EXPECT_EQ(seen.iscsi_portal, "10.0.0.1:3260");
  EXPECT_EQ(seen.tls_portal, "10.0.0.1:3261");
  EXPECT_EQ(seen.sessions, 7u);
  EXPECT_EQ(seen.heartbeat_ms, *t);
  EXPECT_EQ(seen.started_ms, *t);
  EXPECT_EQ(seen.instance, "i-a");
  EXPECT_TRUE(seen.alive);

  std::this_thread::sleep_for(30ms);
  n.sessions = 9;
  auto t2 = fa().heartbeat(n, false, 5000);
  ASSERT_TRUE(t2.ok());
  EXPECT_GT(t2->now_ms, *t);
  nodes = fb().list_nodes(5000);
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->front().started_ms, *t) << "a later heartbeat keeps the start time";
  EXPECT_EQ(nodes->front().sessions, 9u);

  std::this_thread::sleep_for(30ms);
  nodes = fb().list_nodes(10);
  ASSERT_TRUE(nodes.ok());
  EXPECT_FALSE(nodes->front().alive) << "no heartbeat within the timeout";

  auto not_ours = fa().remove_node("node-a", "i-other");
  ASSERT_TRUE(not_ours.ok());
  EXPECT_FALSE(*not_ours) << "only the process whose row it is removes it";
  auto removed = fa().remove_node("node-a", "i-a");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  nodes = fb().list_nodes(5000);
  ASSERT_TRUE(nodes.ok());
  EXPECT_TRUE(nodes->empty());
}

// Two processes configured with one node id: the second is refused while
// the first's heartbeat is fresh, told whose row it is, and writes nothing;
// once the first falls silent for a node timeout, the row is taken over.
TEST_F(FleetStoreTest, AnotherInstanceCannotHeartbeatOnAFreshRow) {
  NodeRecord first{"node-a", "10.0.0.1:3260", "", "", "1.0", 1};
  first.instance = "i-first";
  NodeRecord second{"node-a", "10.0.0.2:3260", "", "", "1.0", 2};
  second.instance = "i-second";
  auto hb1 = fa().heartbeat(first, true, 5000);
  ASSERT_TRUE(hb1.ok()) << hb1.error().message;
  ASSERT_FALSE(hb1->clash);

  auto hb2 = fb().heartbeat(second, true, 5000);
  ASSERT_TRUE(hb2.ok()) << hb2.error().message;
  ASSERT_TRUE(hb2->clash.has_value());
  EXPECT_EQ(hb2->clash->instance, "i-first");
  EXPECT_EQ(hb2->clash->heartbeat_ms, hb1->now_ms);
  EXPECT_GE(hb2->now_ms, hb1->now_ms);
  auto nodes = fa().list_nodes(5000);
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ(nodes->front().iscsi_portal, "10.0.0.1:3260") << "the refused heartbeat wrote nothing";
  EXPECT_EQ(nodes->front().sessions, 1u);

  // The first keeps heartbeating undisturbed.
  auto again = fa().heartbeat(first, false, 5000);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->clash);

  // Silent for longer than the node timeout (here 20 ms): taken over, with
  // a fresh start time; now the first is the one refused.
  std::this_thread::sleep_for(40ms);
  auto takeover = fb().heartbeat(second, false, 20);
  ASSERT_TRUE(takeover.ok());
  EXPECT_FALSE(takeover->clash);
  nodes = fa().list_nodes(5000);
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->front().instance, "i-second");
  EXPECT_EQ(nodes->front().iscsi_portal, "10.0.0.2:3260");
  EXPECT_EQ(nodes->front().started_ms, takeover->now_ms) << "another process: another start";
  auto refused = fa().heartbeat(first, false, 5000);
  ASSERT_TRUE(refused.ok());
  ASSERT_TRUE(refused->clash.has_value());
  EXPECT_EQ(refused->clash->instance, "i-second");
}

// Both first heartbeats at once, on a node id nobody registered yet: exactly
// one goes in (the INSERT of the other lands on the conflict and is refused).
TEST_F(FleetStoreTest, RacingFirstHeartbeatsOfOneIdRegisterOneInstance) {
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    const std::string id = "node-" + std::to_string(round);
    std::barrier start(2);
    std::atomic<int> clashes{0};
    std::atomic<int> errors{0};
    auto race = [&](FleetStore& f, const std::string& instance) {
      NodeRecord n{id, "10.0.0.1:3260", "", "", "1.0", 0};
      n.instance = instance;
      start.arrive_and_wait();
      auto hb = f.heartbeat(n, true, 5000);
      if (!hb) {
        ++errors;
      } else if (hb->clash) {
        ++clashes;
      }
    };
    std::thread t1([&] { race(fa(), "i-1"); });
    std::thread t2([&] { race(fb(), "i-2"); });
    t1.join();
    t2.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(clashes.load(), 1) << "round " << round;
  }
}

// Rows of nodes silent for longer than the bound go, unless the node still
// owns an unexpired lease; fresh rows stay.
TEST_F(FleetStoreTest, ForgetNodesDeletesOnlyLongSilentRowsWithoutALiveLease) {
  for (const char* id : {"old-idle", "old-owner", "fresh"}) {
    NodeRecord n{id, "10.0.0.1:3260", "", "", "1.0", 0};
    n.instance = std::string("i-") + id;
    ASSERT_TRUE(fa().heartbeat(n, true, 5000).ok());
  }
  auto got = fa().acquire_lease("d1", "old-owner", "client", 60000);
  ASSERT_TRUE(got.ok() && got->has_value());
  {
    auto c = pg::Conn::connect(schema_->url());
    ASSERT_TRUE(c.ok());
    auto r = c->exec("UPDATE fleet_nodes SET heartbeat_ms = heartbeat_ms - 100000 WHERE id <> 'fresh'");
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  EXPECT_FALSE(fa().forget_nodes(0).ok()) << "an age of 0 would forget everyone";
  auto gone = fa().forget_nodes(200000);
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_EQ(*gone, 0) << "nobody silent that long";
  gone = fb().forget_nodes(50000);
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_EQ(*gone, 1);
  auto nodes = fa().list_nodes(5000);
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].id, "fresh");
  EXPECT_EQ((*nodes)[1].id, "old-owner") << "owns a live lease: kept";

  // Once its lease has expired, the silent owner goes too.
  age_lease("d1", 120000);
  gone = fa().forget_nodes(50000);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(*gone, 1);
  nodes = fa().list_nodes(5000);
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ(nodes->front().id, "fresh");
}

TEST_F(FleetStoreTest, LeaseIsExclusiveUntilReleasedAndTheEpochGrows) {
  auto got = fa().acquire_lease("d1", "node-a", "client.a", 10000);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->lease.owner_node, "node-a");
  EXPECT_EQ((*got)->lease.epoch, 1);
  EXPECT_EQ((*got)->lease.owner_client, "client.a");
  EXPECT_FALSE((*got)->previous.has_value());

  auto other = fb().acquire_lease("d1", "node-b", "client.b", 10000);
  ASSERT_TRUE(other.ok()) << other.error().message;
  EXPECT_FALSE(other->has_value()) << "a live lease is not granted twice";
  auto again = fa().acquire_lease("d1", "node-a", "client.a", 10000);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value()) << "the owner renews, it does not re-acquire";

  auto renewed = fa().renew_lease("d1", "node-a", 1, 10000);
  ASSERT_TRUE(renewed.ok()) << renewed.error().message;
  EXPECT_TRUE(*renewed);
  auto wrong_epoch = fa().renew_lease("d1", "node-a", 2, 10000);
  ASSERT_TRUE(wrong_epoch.ok());
  EXPECT_FALSE(*wrong_epoch);
  auto wrong_node = fb().renew_lease("d1", "node-b", 1, 10000);
  ASSERT_TRUE(wrong_node.ok());
  EXPECT_FALSE(*wrong_node);

  auto released = fa().release_lease("d1", "node-a", 1);
  ASSERT_TRUE(released.ok());
  EXPECT_TRUE(*released);
  auto list = fb().list_leases();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->leases.size(), 1u);
  EXPECT_EQ(list->leases.front().owner_node, "");
  EXPECT_EQ(list->leases.front().epoch, 1) << "a released lease keeps its epoch";

  auto taken = fb().acquire_lease("d1", "node-b", "client.b", 10000);
  ASSERT_TRUE(taken.ok());
  ASSERT_TRUE(taken->has_value());
  EXPECT_EQ((*taken)->lease.epoch, 2);
  ASSERT_TRUE((*taken)->previous.has_value());
  EXPECT_EQ((*taken)->previous->owner_node, "");
  EXPECT_EQ((*taken)->previous->epoch, 1);
}

TEST_F(FleetStoreTest, ExpiredLeaseGoesToTheNextNodeWithTheNextEpoch) {
  auto got = fa().acquire_lease("d1", "node-a", "client.a", 10000);
  ASSERT_TRUE(got.ok() && got->has_value());
  const int64_t expires = (*got)->lease.expires_ms;
  auto list = fa().list_leases();
  ASSERT_TRUE(list.ok());
  EXPECT_GT(expires, list->now_ms) << "expiry is in the future by the database clock";
  EXPECT_LE(expires, list->now_ms + 10000);

  age_lease("d1", 10001);
  auto taken = fb().acquire_lease("d1", "node-b", "client.b", 10000);
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  ASSERT_TRUE(taken->has_value());
  EXPECT_EQ((*taken)->lease.epoch, 2);
  ASSERT_TRUE((*taken)->previous.has_value());
  EXPECT_EQ((*taken)->previous->owner_node, "node-a");
  EXPECT_EQ((*taken)->previous->owner_client, "client.a") << "whom the new owner fences";

  auto renewed = fa().renew_lease("d1", "node-a", 1, 10000);
  ASSERT_TRUE(renewed.ok());
  EXPECT_FALSE(*renewed) << "the old owner learns it lost the lease";
  auto released = fa().release_lease("d1", "node-a", 1);
  ASSERT_TRUE(released.ok());
  EXPECT_FALSE(*released) << "the old owner cannot release the new owner's lease";
}

TEST_F(FleetStoreTest, ExpiredLeaseIsNotRenewed) {
  auto got = fa().acquire_lease("d1", "node-a", "", 10000);
  ASSERT_TRUE(got.ok() && got->has_value());
  age_lease("d1", 10001);
  auto renewed = fa().renew_lease("d1", "node-a", 1, 10000);
  ASSERT_TRUE(renewed.ok());
  EXPECT_FALSE(*renewed);
}

TEST_F(FleetStoreTest, LeaseOfAMissingDiskFails) {
  auto got = fa().acquire_lease("nope", "node-a", "", 10000);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find("no such disk"), std::string::npos) << got.error().message;
  EXPECT_FALSE(fa().acquire_lease("d1", "node-a", "", 0).ok()) << "a zero lease is refused";
  EXPECT_FALSE(fa().acquire_lease("d1", "", "", 1000).ok()) << "an empty node id is refused";
}

TEST_F(FleetStoreTest, DeletingTheDiskDeletesItsLease) {
  ASSERT_TRUE(fa().acquire_lease("d1", "node-a", "", 10000).ok());
  auto deleted = a_->delete_disk("d1");
  ASSERT_TRUE(deleted.ok() && *deleted);
  auto list = fa().list_leases();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->leases.empty());
}

// Two nodes, each on its own connection, ask for the same free lease at the
// same instant, many times over: never both, never neither.
TEST_F(FleetStoreTest, TwoNodesRacingForOneLeaseNeverBothWin) {
  constexpr int kRounds = 30;
  add_disk("d2");
  int64_t last_epoch = 0;
  for (int round = 0; round < kRounds; ++round) {
    // Odd rounds race for a released lease, even ones for an expired one;
    // round 0 for a disk that never had one.
    std::barrier start(2);
    Result<std::optional<AcquiredLease>> results[2] = {fail("not run"), fail("not run")};
    auto race = [&](int who, FleetStore& store) {
      start.arrive_and_wait();
      results[who] = store.acquire_lease("d2", who == 0 ? "node-a" : "node-b", "", 10000);
    };
    std::thread ta(race, 0, std::ref(fa()));
    std::thread tb(race, 1, std::ref(fb()));
    ta.join();
    tb.join();
    ASSERT_TRUE(results[0].ok()) << results[0].error().message;
    ASSERT_TRUE(results[1].ok()) << results[1].error().message;
    const int winners = int(results[0]->has_value()) + int(results[1]->has_value());
    ASSERT_EQ(winners, 1) << "round " << round;
    const AcquiredLease& won = results[0]->has_value() ? **results[0] : **results[1];
    EXPECT_EQ(won.lease.epoch, last_epoch + 1) << "round " << round;
    last_epoch = won.lease.epoch;
    auto list = fa().list_leases();
    ASSERT_TRUE(list.ok());
    ASSERT_EQ(list->leases.size(), 1u);
    EXPECT_EQ(list->leases.front().owner_node, won.lease.owner_node) << "the database agrees on the winner";
    if (round % 2 == 1) {
      age_lease("d2", 10001);
    } else {
      auto released = (results[0]->has_value() ? fa() : fb()).release_lease("d2", won.lease.owner_node, won.lease.epoch);
      ASSERT_TRUE(released.ok() && *released);
    }
  }
}

TEST_F(FleetStoreTest, PrSaveUnderAStaleEpochIsRefused) {
  const LuKey lu{"d1", 0};
  PrState first;
  first.generation = 1;
  first.registrations.push_back(PrRegistration{"iqn.a,i,0x1", "", 0x1111, false});
  auto got = fa().acquire_lease("d1", "node-a", "", 10000);
  ASSERT_TRUE(got.ok() && got->has_value());
  auto st = fa().save_pr_state_fenced(lu, first, "node-a", 1);
  ASSERT_TRUE(st.ok()) << st.error().message;

  age_lease("d1", 10001);
  PrState stale = first;
  stale.generation = 2;
  st = fa().save_pr_state_fenced(lu, stale, "node-a", 1);
  ASSERT_FALSE(st.ok()) << "an expired lease refuses the save before anyone takes it";
  EXPECT_EQ(st.error().message.rfind(kLeaseLost, 0), 0u) << st.error().message;

  auto taken = fb().acquire_lease("d1", "node-b", "", 10000);
  ASSERT_TRUE(taken.ok() && taken->has_value());
  st = fa().save_pr_state_fenced(lu, stale, "node-a", 1);
  ASSERT_FALSE(st.ok()) << "the old epoch cannot write the new owner's state";
  EXPECT_EQ(st.error().message.rfind(kLeaseLost, 0), 0u) << st.error().message;
  st = fb().save_pr_state_fenced(lu, stale, "node-a", 2);
  EXPECT_FALSE(st.ok()) << "the new epoch under another node's name is refused too";

  auto loaded = b_->load_pr_state(lu);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ(**loaded, first) << "the refused saves changed nothing";

  PrState next = first;
  next.generation = 5;
  st = fb().save_pr_state_fenced(lu, next, "node-b", 2);
  ASSERT_TRUE(st.ok()) << st.error().message;
  loaded = a_->load_pr_state(lu);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ(**loaded, next);
}

TEST(FleetStoreSqliteTest, SqliteHasNoFleet) {
  scsipub::testing::TempDir dir;
  auto s = SqliteStore::open(dir.path());
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ((*s)->fleet(), nullptr) << "a fleet needs PostgreSQL";
}

}  // namespace
}  // namespace scsipub::db::testing
