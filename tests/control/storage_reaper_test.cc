// StorageReaper: jobs run on its own thread, in order; drain waits for them;
// destruction runs what was handed over before it stops.
#include "control/storage_reaper.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace scsipub::control {
namespace {

TEST(StorageReaper, RunsJobsInOrderOnItsOwnThread) {
  StorageReaper reaper;
  std::vector<int> order;
  std::thread::id ran_on;
  for (int i = 0; i < 5; ++i) {
    reaper.post([&order, &ran_on, i] {
      order.push_back(i);
      ran_on = std::this_thread::get_id();
    });
  }
  reaper.drain();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(StorageReaper, DestructionRunsEverythingHandedOver) {
  std::atomic<int> ran{0};
  {
    StorageReaper reaper;
    for (int i = 0; i < 20; ++i) reaper.post([&ran] { ran.fetch_add(1); });
  }
  EXPECT_EQ(ran.load(), 20);
}

TEST(StorageReaper, WhatAJobHoldsIsReleasedOnTheReapersThread) {
  StorageReaper reaper;
  std::thread::id released_on;
  struct Probe {
    std::thread::id* where;
    ~Probe() { *where = std::this_thread::get_id(); }
  };
  auto probe = std::make_shared<Probe>(Probe{&released_on});
  reaper.post([p = std::move(probe)] {});
  reaper.drain();
  EXPECT_NE(released_on, std::thread::id{});
  EXPECT_NE(released_on, std::this_thread::get_id());
}

}  // namespace
}  // namespace scsipub::control
