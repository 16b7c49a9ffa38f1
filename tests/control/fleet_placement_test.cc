// Where a login goes on a fleet node, from the keeper's snapshot: the owner
// of an unexpired lease on an alive node, or nobody; and whom a takeover
// fences.
#include "control/fleet_placement.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "control/fleet_disks.h"

namespace scsipub::control {
namespace {

db::NodeRecord node(std::string id, bool alive, uint32_t sessions = 0) {
  db::NodeRecord n;
  n.id = id;
  n.iscsi_portal = "10.0.0." + std::to_string(id.back() - 'a' + 1) + ":3260";
  n.tls_portal = id == "c" ? "" : "10.0.0.9:3261";
  n.alive = alive;
  n.sessions = sessions;
  return n;
}

db::LeaseRecord lease(std::string disk, std::string owner, int64_t expires_ms) {
  return {std::move(disk), std::move(owner), 3, expires_ms, "client." + owner};
}

FleetSnapshot seen() {
  FleetSnapshot s;
  s.db_now_ms = 1000;
  s.nodes = {node("a", true), node("b", true), node("c", false)};
  s.leases = {lease("d1", "a", 5000), lease("d2", "b", 900), lease("d3", "c", 5000), lease("d4", "", 0),
              lease("d5", "b", 5000)};
  return s;
}

TEST(FleetPlacement, AnUnexpiredLeaseOfAnAliveNodeRedirectsThere) {
  Placement p = place_from_snapshot(seen(), "b", "d1");
  ASSERT_EQ(p.where, Placement::Where::elsewhere);
  EXPECT_EQ(p.owner.node_id, "a");
  EXPECT_EQ(p.owner.iscsi_portal, "10.0.0.1:3260");
  EXPECT_EQ(p.owner.tls_portal, "10.0.0.9:3261");
}

TEST(FleetPlacement, NobodyServesExpiredReleasedDeadOrUnknown) {
  const auto s = seen();
  EXPECT_EQ(place_from_snapshot(s, "a", "d2").where, Placement::Where::unavailable) << "expired by the db clock";
  EXPECT_EQ(place_from_snapshot(s, "a", "d3").where, Placement::Where::unavailable) << "owner not alive";
  EXPECT_EQ(place_from_snapshot(s, "a", "d4").where, Placement::Where::unavailable) << "released";
  EXPECT_EQ(place_from_snapshot(s, "a", "d9").where, Placement::Where::unavailable) << "never leased";
  // Held by this node but not open (being opened, or just lost): nobody.
  EXPECT_EQ(place_from_snapshot(s, "b", "d5").where, Placement::Where::unavailable);
}

TEST(FleetPlacement, AnotherNodeIsNamedOnlyWhileItIsAlive) {
  const auto s = seen();
  auto a = alive_from_snapshot(s, "b", "a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->node_id, "a");
  EXPECT_EQ(a->iscsi_portal, "10.0.0.1:3260");
  EXPECT_EQ(a->tls_portal, "10.0.0.9:3261");
  EXPECT_FALSE(alive_from_snapshot(s, "b", "c")) << "not alive";
  EXPECT_FALSE(alive_from_snapshot(s, "b", "z")) << "not in the node table";
  EXPECT_FALSE(alive_from_snapshot(s, "b", "b")) << "this node is never elsewhere";
  auto no_portal = s;
  no_portal.nodes[0].iscsi_portal.clear();
  EXPECT_FALSE(alive_from_snapshot(no_portal, "b", "a"));
}

TEST(FleetPlacement, FindsTheOwnerAmongManyNodesByExactId) {
  // Nodes ordered by id, as the keeper publishes them; ids that are
  // prefixes of each other must not be confused by the ordered lookup.
  FleetSnapshot s;
  s.db_now_ms = 1000;
  for (int i = 0; i < 200; ++i) {
    db::NodeRecord n;
    n.id = "node-" + std::to_string(i);
    n.iscsi_portal = "10.1." + std::to_string(i / 100) + "." + std::to_string(i % 100) + ":3260";
    n.alive = i != 150;
    s.nodes.push_back(n);
  }
  std::ranges::sort(s.nodes, {}, &db::NodeRecord::id);
  s.leases = {lease("d1", "node-1", 5000), lease("d10", "node-10", 5000), lease("d150", "node-150", 5000),
              lease("d199", "node-199", 5000), lease("dx", "node-1x", 5000)};
  std::ranges::sort(s.leases, {}, &db::LeaseRecord::disk_id);
  auto at = [&](std::string_view disk) { return place_from_snapshot(s, "node-0", disk); };
  EXPECT_EQ(at("d1").owner.iscsi_portal, "10.1.0.1:3260");
  EXPECT_EQ(at("d10").owner.iscsi_portal, "10.1.0.10:3260");
  EXPECT_EQ(at("d199").owner.iscsi_portal, "10.1.1.99:3260");
  EXPECT_EQ(at("d150").where, Placement::Where::unavailable) << "owner not alive";
  EXPECT_EQ(at("dx").where, Placement::Where::unavailable) << "owner not in the node table";
}

TEST(FleetPlacement, WithoutItsKeeperOnlyOpenDisksAreHere) {
  FleetPlacement placement({"a", [](std::string_view id) { return id == "open"; }, [] { return 500u; }, 10});
  EXPECT_EQ(placement.place_disk("open").where, Placement::Where::here);
  EXPECT_EQ(placement.place_disk("d1").where, Placement::Where::unavailable);
  EXPECT_FALSE(placement.free_tier_redirect()) << "no keeper: no idea where else to go";
  EXPECT_FALSE(placement.alive_node("b"));
}

TEST(FleetDisks, OnlyAnExpiredOwnerWithAnotherClientIsFenced) {
  EXPECT_FALSE(must_fence(std::nullopt, "me")) << "never leased";
  EXPECT_TRUE(must_fence(lease("d", "a", 0), "me"));
  EXPECT_FALSE(must_fence(lease("d", "", 0), "me")) << "given back cleanly: that node is alive";
  auto own = lease("d", "a", 0);
  own.owner_client = "me";
  EXPECT_FALSE(must_fence(own, "me")) << "never fence this node's own client";
  auto no_client = lease("d", "a", 0);
  no_client.owner_client.clear();
  EXPECT_FALSE(must_fence(no_client, "me"));
}

}  // namespace
}  // namespace scsipub::control
