// The free tier's overlay byte budgets on their own: per address group and
// server-wide, both or neither taken, returned at release.
#include "control/overlay_budget.h"

#include <gtest/gtest.h>

namespace scsipub::control {
namespace {

TEST(OverlayBudgetTest, EachGroupHasItsOwnBudget) {
  OverlayBudget budget(10, 0);
  EXPECT_EQ(budget.reserve("a", 6), std::nullopt);
  EXPECT_EQ(budget.reserve("a", 5), Limit::free_overlay_per_ip);
  EXPECT_EQ(budget.reserve("a", 4), std::nullopt);
  EXPECT_EQ(budget.reserve("b", 10), std::nullopt);
  EXPECT_EQ(budget.held_by("a"), 10u);
  EXPECT_EQ(budget.held_total(), 20u);
}

TEST(OverlayBudgetTest, ARefusalByTheTotalTakesNothingFromTheGroup) {
  OverlayBudget budget(10, 15);
  ASSERT_EQ(budget.reserve("a", 8), std::nullopt);
  EXPECT_EQ(budget.reserve("b", 8), Limit::free_overlay_total);
  EXPECT_EQ(budget.held_by("b"), 0u);
  EXPECT_EQ(budget.held_total(), 8u);
  EXPECT_EQ(budget.reserve("b", 7), std::nullopt);
}

TEST(OverlayBudgetTest, AskingForMoreThanABudgetIsRefusedWithoutOverflow) {
  OverlayBudget budget(10, 100);
  EXPECT_EQ(budget.reserve("a", ~uint64_t{0}), Limit::free_overlay_per_ip);
  OverlayBudget total_only(0, 100);
  EXPECT_EQ(total_only.reserve("a", ~uint64_t{0}), Limit::free_overlay_total);
  EXPECT_EQ(total_only.held_total(), 0u);
}

TEST(OverlayBudgetTest, ReleaseGivesBackWhatWasReserved) {
  OverlayBudget budget(10, 12);
  ASSERT_EQ(budget.reserve("a", 10), std::nullopt);
  EXPECT_EQ(budget.reserve("b", 5), Limit::free_overlay_total);
  budget.release("a", 10);
  EXPECT_EQ(budget.held_by("a"), 0u);
  EXPECT_EQ(budget.held_total(), 0u);
  EXPECT_EQ(budget.reserve("b", 5), std::nullopt);
  // Releasing more than is held never wraps around.
  budget.release("b", 50);
  EXPECT_EQ(budget.held_total(), 0u);
}

TEST(OverlayBudgetTest, ZeroMeansNoLimit) {
  OverlayBudget budget(0, 0);
  EXPECT_EQ(budget.reserve("a", uint64_t{1} << 62), std::nullopt);
  EXPECT_EQ(budget.reserve("a", uint64_t{1} << 62), std::nullopt);
}

}  // namespace
}  // namespace scsipub::control
