#include "lu/logical_unit.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "storage/memory_store.h"

namespace scsipub::lu {
namespace {

class LogicalUnitTest : public ::testing::Test {
 protected:
  LogicalUnitTest() : unit(std::make_shared<storage::MemoryStore>(16), Identity{}) {
    a.id = 1;
    b.id = 2;
  }
  LogicalUnit unit;
  Nexus a, b;
};

TEST_F(LogicalUnitTest, AttachQueuesPowerOn) {
  unit.attach(a);
  EXPECT_TRUE(unit.attached(1));
  EXPECT_TRUE(unit.has_unit_attention(1));
  EXPECT_EQ(unit.take_unit_attention(1), ua::kPowerOnResetOccurred);
  EXPECT_FALSE(unit.take_unit_attention(1));
  EXPECT_FALSE(unit.has_unit_attention(2));
}

TEST_F(LogicalUnitTest, DetachForgetsNexus) {
  unit.attach(a);
  unit.detach(1);
  EXPECT_FALSE(unit.attached(1));
  EXPECT_FALSE(unit.take_unit_attention(1));
  EXPECT_EQ(unit.attached_count(), 0u);
  unit.detach(99);  // harmless
}

TEST_F(LogicalUnitTest, QueueIsFifoDedupedAndBounded) {
  unit.attach(a);
  unit.raise_unit_attention(ua::kModeParametersChanged);
  unit.raise_unit_attention(ua::kModeParametersChanged);
  for (uint8_t i = 0; i < 20; ++i) unit.raise_unit_attention({0x3F, i});
  EXPECT_EQ(unit.take_unit_attention(1), ua::kPowerOnResetOccurred);
  EXPECT_EQ(unit.take_unit_attention(1), ua::kModeParametersChanged);
  size_t rest = 0;
  while (unit.take_unit_attention(1)) ++rest;
  EXPECT_EQ(rest + 2, LogicalUnit::kMaxPendingUnitAttentions);
}

TEST_F(LogicalUnitTest, RaiseExceptOrigin) {
  unit.attach(a);
  unit.attach(b);
  (void)unit.take_unit_attention(1);
  (void)unit.take_unit_attention(2);
  unit.raise_unit_attention(ua::kReportedLunsDataChanged, 1);
  EXPECT_FALSE(unit.has_unit_attention(1));
  EXPECT_EQ(unit.take_unit_attention(2), ua::kReportedLunsDataChanged);
}

TEST_F(LogicalUnitTest, LogicalUnitResetReplacesPendingConditions) {
  unit.attach(a);
  unit.attach(b);
  unit.raise_unit_attention(ua::kModeParametersChanged);
  unit.logical_unit_reset();
  for (uint64_t id : {1, 2}) {
    EXPECT_EQ(unit.take_unit_attention(id), ua::kBusDeviceResetFunctionOccurred);
    EXPECT_FALSE(unit.take_unit_attention(id));
  }
}

TEST_F(LogicalUnitTest, TargetResets) {
  unit.attach(a);
  unit.target_reset(false);
  EXPECT_EQ(unit.take_unit_attention(1), ua::kBusDeviceResetFunctionOccurred);
  unit.target_reset(true);
  EXPECT_EQ(unit.take_unit_attention(1), ua::kPowerOnOccurred);
}

TEST_F(LogicalUnitTest, ModeParametersChangeNotifiesOthers) {
  unit.attach(a);
  unit.attach(b);
  (void)unit.take_unit_attention(1);
  (void)unit.take_unit_attention(2);
  ModeParameters p = unit.mode_parameters();
  EXPECT_TRUE(p.write_cache_enabled);
  EXPECT_FALSE(p.descriptor_sense);
  EXPECT_FALSE(unit.set_mode_parameters(p, 1));  // no change, no UA
  EXPECT_FALSE(unit.has_unit_attention(2));
  p.descriptor_sense = true;
  EXPECT_TRUE(unit.set_mode_parameters(p, 1));
  EXPECT_FALSE(unit.has_unit_attention(1));
  EXPECT_EQ(unit.take_unit_attention(2), ua::kModeParametersChanged);
  EXPECT_TRUE(unit.mode_parameters().descriptor_sense);
  unit.logical_unit_reset();
  EXPECT_FALSE(unit.mode_parameters().descriptor_sense);
}

TEST_F(LogicalUnitTest, AbortTasksOfPortBumpsOnlyThatPortsGeneration) {
  a.initiator_name = "iqn.test:a";
  b.initiator_name = "iqn.test:b";
  unit.attach(a);
  unit.attach(b);
  EXPECT_EQ(unit.task_abort_generation(a.id), 0u);  // never aborted: the lock-free answer
  unit.abort_tasks_of_port(initiator_port_name(b));
  EXPECT_EQ(unit.task_abort_generation(a.id), 0u);
  EXPECT_EQ(unit.task_abort_generation(b.id), 1u);
  unit.abort_tasks_of_port(initiator_port_name(b));
  EXPECT_EQ(unit.task_abort_generation(b.id), 2u);
  unit.abort_tasks_of_port("iqn.nobody,i,0x000000000000");
  EXPECT_EQ(unit.task_abort_generation(a.id), 0u);
  EXPECT_EQ(unit.task_abort_generation(b.id), 2u);
  EXPECT_EQ(unit.task_abort_generation(99), 0u);  // not attached
}

TEST_F(LogicalUnitTest, ConcurrentSessionsAreSafe) {
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      Nexus n;
      n.id = 100 + t;
      for (int i = 0; i < 500; ++i) {
        unit.attach(n);
        unit.raise_unit_attention(ua::kModeParametersChanged, n.id);
        (void)unit.take_unit_attention(n.id);
        ModeParameters p;
        p.descriptor_sense = (i & 1) != 0;
        unit.set_mode_parameters(p, n.id);
        if (i % 7 == 0) unit.logical_unit_reset();
        unit.detach(n.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unit.attached_count(), 0u);
}

TEST_F(LogicalUnitTest, AtomicUpdateLockIsExclusive) {
  auto lock = unit.lock_for_atomic_update();
  EXPECT_TRUE(lock.owns_lock());
}

}  // namespace
}  // namespace scsipub::lu
